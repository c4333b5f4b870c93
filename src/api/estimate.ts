export { estimatePromptTokens, estimateTokens } from '../providers/estimate.ts';
