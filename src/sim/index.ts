// Public surface of the inference-engine simulator (docs/simulator.md).

export { startSimulator, type SimulatorOptions, type RunningSimulator } from './server.ts';
export { listProfiles, resolveProfile, DEFAULT_PROFILE, type Profile, type ProfileOverrides, type EngineParams, type TimingParams } from './profiles.ts';
export { DEFAULT_FAULTS, FaultInjector, type Faults } from './faults.ts';
export { Engine, type EngineCounters, type EngineSnapshot, type EngineObserver } from './engine/engine.ts';
export { ManualClock, RealTimeClock, ImmediateClock, type EngineClock } from './engine/clock.ts';
export { stepDurationMs, predictedItlMs, type StepShape } from './engine/step-time.ts';
export type { EngineRequestInput, EngineRequestResult } from './engine/request.ts';
export { countTokens, encode, tokenize } from './text/tokenizer.ts';
export { renderChatPrompt, renderToolCall, type TemplateMessage, type TemplateTool } from './text/chat-template.ts';
