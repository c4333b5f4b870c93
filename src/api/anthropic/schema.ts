// zod schemas for the Anthropic Messages request body, and the validation entry point that turns
// the first problem into a 400 naming the field the way Anthropic does (`messages.0.content`).

import { z } from 'zod';
import { GatewayError } from '../errors.ts';

/** A custom message for a wrong value, but zod's plain "field required" wording when it is missing. */
function expected(message: string): (iss: { input?: unknown }) => string {
  return (iss) => (iss.input === undefined ? 'field required' : message);
}

const textBlock = z.looseObject({ type: z.literal('text'), text: z.string() });

const imageSource = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string().min(1) }),
    z.looseObject({ type: z.literal('url'), url: z.string().min(1) }),
  ],
  { error: 'expected an image source of type "base64" ({media_type, data}) or "url" ({url}); file sources are not supported' },
);
const imageBlock = z.looseObject({ type: z.literal('image'), source: imageSource });

const toolResultPart = z.discriminatedUnion('type', [textBlock, imageBlock], {
  error: 'expected a tool_result content block of type text or image',
});

const toolUseBlock = z.looseObject({
  type: z.literal('tool_use'),
  id: z.string().min(1),
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown(), { error: 'expected input to be a JSON object' }),
});

const toolResultBlock = z.looseObject({
  type: z.literal('tool_result'),
  tool_use_id: z.string().min(1),
  content: z.union([z.string(), z.array(toolResultPart)], { error: 'expected a string or an array of text/image blocks' }).optional(),
  is_error: z.boolean().optional(),
});

// Thinking blocks are accepted so clients can send back a previous turn verbatim; they are dropped.
const thinkingBlock = z.looseObject({ type: z.literal('thinking') });
const redactedThinkingBlock = z.looseObject({ type: z.literal('redacted_thinking') });

export const contentBlockSchema = z.discriminatedUnion(
  'type',
  [textBlock, imageBlock, toolUseBlock, toolResultBlock, thinkingBlock, redactedThinkingBlock],
  { error: 'expected a content block of type text, image, tool_use, tool_result or thinking (document and server-tool blocks are not supported)' },
);

const messageSchema = z.looseObject({
  role: z.enum(['user', 'assistant'], { error: expected('expected role to be "user" or "assistant" (system prompts go in the top-level system field)') }),
  content: z.union([z.string(), z.array(contentBlockSchema).min(1, 'content must contain at least one block')], {
    error: expected('expected a string or an array of content blocks'),
  }),
});

const toolSchema = z.looseObject({
  // Checked first so a server tool (web_search_..., bash_...) gets an explanation, not "input_schema is required".
  type: z
    .literal('custom', { error: 'only custom tools (name, description, input_schema) are supported; server tools such as web search are not' })
    .nullish(),
  name: z.string().min(1, 'name must not be empty'),
  description: z.string().nullish(),
  input_schema: z.looseObject({ type: z.literal('object', { error: 'input_schema.type must be "object"' }) }),
});

const disableParallel = z.boolean().nullish();
const toolChoiceSchema = z.discriminatedUnion(
  'type',
  [
    z.looseObject({ type: z.literal('auto'), disable_parallel_tool_use: disableParallel }),
    z.looseObject({ type: z.literal('any'), disable_parallel_tool_use: disableParallel }),
    z.looseObject({ type: z.literal('tool'), name: z.string().min(1), disable_parallel_tool_use: disableParallel }),
    z.looseObject({ type: z.literal('none') }),
  ],
  { error: 'expected tool_choice.type to be one of: auto, any, tool, none' },
);

export const messagesRequestSchema = z.looseObject({
  model: z.string({ error: 'model is required: the name of a configured model (see GET /v1/models)' }).min(1, 'model must not be empty'),
  max_tokens: z
    .number({ error: (iss) => (iss.input === undefined ? 'max_tokens is required: the maximum number of tokens to generate' : 'max_tokens must be a positive integer') })
    .int('max_tokens must be a positive integer')
    .positive('max_tokens must be a positive integer'),
  messages: z
    .array(messageSchema, { error: 'messages is required: an array of {role, content} objects' })
    .min(1, 'messages must contain at least one message'),
  system: z.union([z.string(), z.array(textBlock)], { error: 'expected system to be a string or an array of text blocks' }).nullish(),
  tools: z.array(toolSchema).nullish(),
  tool_choice: toolChoiceSchema.nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  temperature: z.number().min(0, 'temperature must be between 0 and 1').max(1, 'temperature must be between 0 and 1').nullish(),
  top_p: z.number().min(0, 'top_p must be between 0 and 1').max(1, 'top_p must be between 0 and 1').nullish(),
  top_k: z.number().int().min(0, 'top_k must be a non-negative integer').nullish(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).nullish(),
  stream: z.boolean().nullish(),
});

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;
export type ContentBlock = z.infer<typeof contentBlockSchema>;
export type ToolResultPart = z.infer<typeof toolResultPart>;
export type ImageBlock = z.infer<typeof imageBlock>;

type Issue = z.core.$ZodIssue;

/** Anthropic names fields `messages.0.content.1.source`, so errors here do too. */
export function dottedPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map(String).join('.');
}

/**
 * A union reports only "expected a string or an array"; when one branch got further (the value was
 * an array, but a block inside it was wrong), that branch's complaint is the one that helps.
 */
function mostSpecific(issue: Issue, prefix: PropertyKey[]): { issue: Issue; path: PropertyKey[] } {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    let best: Issue | undefined;
    for (const branch of issue.errors) {
      const first = branch[0];
      if (first && first.path.length > 0 && (!best || first.path.length > best.path.length)) best = first;
    }
    if (best) return mostSpecific(best, path);
  }
  return { issue, path };
}

export function parseMessagesRequest(body: unknown): MessagesRequest {
  const result = messagesRequestSchema.safeParse(body);
  if (result.success) return result.data;
  const { issue, path } = mostSpecific(result.error.issues[0], []);
  const param = dottedPath(path);
  let message = issue.message.replace(/^Invalid input: /, '');
  if ((issue.code === 'invalid_type' && /received undefined/.test(issue.message)) || message === 'field required') message = `${param}: field required`;
  else if (param && !message.startsWith(param)) message = `${param}: ${message}`;
  throw new GatewayError('invalid_request', message, { param: param || null, code: 'invalid_value' });
}
