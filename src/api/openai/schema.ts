// zod schemas for the OpenAI request bodies we accept. Unknown top-level fields are kept (loose)
// and passed through to OpenAI-format upstreams, so engine extensions (vLLM's top_k, ...) work.

import { z } from 'zod';

const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const imagePart = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({ url: z.string().min(1, 'expected an http(s) URL or a base64 data URL'), detail: z.enum(['auto', 'low', 'high']).optional() }),
});
const audioPart = z.looseObject({
  type: z.literal('input_audio'),
  input_audio: z.looseObject({ data: z.string().min(1, 'expected base64-encoded audio'), format: z.string().min(1, 'expected the audio format, e.g. "wav" or "mp3"') }),
});
const filePart = z.looseObject({
  type: z.literal('file'),
  file: z
    .looseObject({ file_data: z.string().min(1).optional(), file_id: z.string().min(1).optional(), filename: z.string().optional() })
    .refine((f) => f.file_data !== undefined || f.file_id !== undefined, 'a file part needs file_data (a base64 data URL) or file_id'),
});
const contentParts = z
  .array(z.discriminatedUnion('type', [textPart, imagePart, audioPart, filePart], { error: 'expected a content part with "type" one of: text, image_url, input_audio, file' }))
  .min(1);

const toolCall = z.looseObject({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});

const textOnly = z.union([z.string(), z.array(textPart).min(1)], { error: 'expected a string or an array of text parts' });

export const chatMessageSchema = z.discriminatedUnion(
  'role',
  [
    z.looseObject({ role: z.literal('system'), content: textOnly, name: z.string().optional() }),
    z.looseObject({ role: z.literal('developer'), content: textOnly, name: z.string().optional() }),
    z.looseObject({
      role: z.literal('user'),
      content: z.union([z.string(), contentParts], { error: 'expected a string or an array of content parts' }),
      name: z.string().optional(),
    }),
    z.looseObject({
      role: z.literal('assistant'),
      content: z.union([z.string(), z.array(textPart), z.null()]).optional(),
      tool_calls: z.array(toolCall).optional(),
      name: z.string().optional(),
    }),
    z.looseObject({ role: z.literal('tool'), content: textOnly, tool_call_id: z.string().min(1) }),
  ],
  { error: 'expected role to be one of: system, developer, user, assistant, tool' },
);

const stop = z.union([z.string(), z.array(z.string()).max(16)]).nullish();

export const toolSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'function names are 1-64 letters, digits, "_" or "-"'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

const toolChoice = z.union(
  [
    z.enum(['none', 'auto', 'required']),
    z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string().min(1) }) }),
  ],
  { error: 'expected "none", "auto", "required" or {"type":"function","function":{"name":...}}' },
);

const sampling = {
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  stop,
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  user: z.string().optional(),
};

const modelField = z.string({ error: 'model is required: the name of a configured model (see GET /v1/models)' }).min(1, 'model must not be empty');

export const chatRequestSchema = z.looseObject({
  model: modelField,
  messages: z.array(chatMessageSchema, { error: 'messages is required: an array of {role, content} objects' }).min(1, 'messages must contain at least one message'),
  tools: z.array(toolSchema).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  response_format: z.looseObject({ type: z.string() }).nullish(),
  ...sampling,
});

const textInput = z.union([z.string(), z.array(z.string()).min(1)], {
  error: 'expected a string or an array of strings (token-id arrays are not supported; send text)',
});

export const completionRequestSchema = z.looseObject({
  model: modelField,
  prompt: textInput,
  ...sampling,
});

export const embeddingRequestSchema = z.looseObject({
  model: modelField,
  input: textInput,
  dimensions: z.number().int().positive().optional(),
  encoding_format: z.enum(['float', 'base64']).optional(),
  user: z.string().optional(),
});

/** Top-level fields modelled by the canonical request; everything else goes to `extra`. */
export const MODELLED_FIELDS = new Set([
  'model', 'messages', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'prompt', 'input',
  'dimensions', 'encoding_format', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'n', 'stop',
  'seed', 'presence_penalty', 'frequency_penalty', 'stream', 'stream_options', 'user',
]);
