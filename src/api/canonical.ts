// The one internal shape of an inference request, response and stream chunk.
// Edge formats (OpenAI, Anthropic) convert to it once; providers convert from it once.
// It follows OpenAI's chat model closely because most upstreams speak it, which keeps the
// common OpenAI -> openai-compatible path free of lossy or costly conversions.

import type { EdgeName } from './edge.ts';

export type EndpointKind = 'chat' | 'completion' | 'embedding';

export interface TextPart {
  type: 'text';
  text: string;
}
export interface ImagePart {
  type: 'image_url';
  image_url: { url: string; detail?: string };
}
export interface AudioPart {
  type: 'input_audio';
  /** Base64 audio in `format` (OpenAI: wav or mp3). */
  input_audio: { data: string; format: string };
}
export interface FilePart {
  type: 'file';
  /** Inline (`file_data`, a base64 data URL) or by reference (`file_id`); at least one is set. */
  file: { file_data?: string; file_id?: string; filename?: string };
}
/** The content parts OpenAI's chat API defines for user messages; any other type is refused at the edge. */
export type ContentPart = TextPart | ImagePart | AudioPart | FilePart;

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system' | 'developer'; content: string | ContentPart[]; name?: string }
  | { role: 'user'; content: string | ContentPart[]; name?: string }
  | { role: 'assistant'; content: string | ContentPart[] | null; tool_calls?: ToolCall[]; name?: string }
  | { role: 'tool'; content: string | ContentPart[]; tool_call_id: string };

export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type ToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | { type: 'function'; function: { name: string } };

export interface SamplingParams {
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  seed?: number;
  n?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
}

export interface RequestMeta {
  /** Gateway-assigned id, echoed as x-request-id and used in logs. */
  requestId: string;
  /** Which edge format the client spoke; decides the error and stream shape. */
  edge: EdgeName;
  /** Conversation key for stickiness (OpenAI `user`, Anthropic metadata.user_id). */
  user?: string;
}

export interface CanonicalRequest {
  kind: EndpointKind;
  /** The model name the client asked for (a Switchyard model name). */
  model: string;
  stream: boolean;
  /** Client asked for a final usage chunk (OpenAI stream_options.include_usage). */
  includeUsage: boolean;
  /** chat */
  messages?: ChatMessage[];
  tools?: ToolDefinition[];
  tool_choice?: ToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: Record<string, unknown>;
  /** completion */
  prompt?: string | string[];
  /** embedding: strings only (token-array inputs are rejected at the edge) */
  input?: string[];
  dimensions?: number;
  encoding_format?: 'float' | 'base64';
  params: SamplingParams;
  /**
   * Fields of the client's body that the canonical type does not model (e.g. vLLM's
   * `top_k`, `logprobs`). Passed through unchanged to OpenAI-format upstreams only.
   */
  extra: Record<string, unknown>;
  meta: RequestMeta;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  /** Prompt tokens served from the upstream's prefix/prompt cache (subset of prompt_tokens). */
  cached_tokens?: number;
  /** Anthropic-only: tokens written to the prompt cache (subset of prompt_tokens). */
  cache_creation_tokens?: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error';

export interface CanonicalChoice {
  index: number;
  /** chat: assistant text; completion: generated text */
  text: string | null;
  tool_calls?: ToolCall[];
  finish_reason: FinishReason | null;
  /** Anthropic stop_sequence that ended the text, when known. */
  stop_sequence?: string | null;
}

export interface CanonicalResponse {
  kind: 'chat' | 'completion';
  id: string;
  /** Unix seconds. */
  created: number;
  /** Model name reported by the upstream (the gateway rewrites what the client sees). */
  upstreamModel: string;
  choices: CanonicalChoice[];
  usage: Usage;
  system_fingerprint?: string;
}

export interface CanonicalEmbeddingResponse {
  kind: 'embedding';
  upstreamModel: string;
  data: { index: number; embedding: number[] | string }[];
  usage: Usage;
}

/** A streamed tool-call fragment: `id` and `name` arrive once, `arguments` in pieces. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  arguments?: string;
}

export type CanonicalChunk =
  | {
      type: 'delta';
      /** Choice index. */
      index: number;
      role?: 'assistant';
      text?: string;
      tool_calls?: ToolCallDelta[];
      finish_reason?: FinishReason | null;
      stop_sequence?: string | null;
    }
  /** Always the last chunk of a successful stream: providers emit it even if the upstream did not. */
  | { type: 'usage'; usage: Usage }
  /** Stream metadata known at the start (id, model, created). Emitted once, first. */
  | { type: 'start'; id: string; created: number; upstreamModel: string };

export type CanonicalStream = AsyncIterable<CanonicalChunk>;
