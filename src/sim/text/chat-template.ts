// The simulator's chat template: how a chat request becomes one prompt string before tokenizing.
// It is modelled on Llama 3's header/end-of-turn layout so that everything a real template would
// feed the model (roles, content, tool definitions, tool calls, tool results) costs tokens, and so
// that a conversation's earlier turns are a text prefix of its later requests (prefix caching).
//
//   <|begin_of_text|>
//   <|start_header_id|>tools<|end_header_id|>\n\n{tool function JSON, one per line}<|eot_id|>   (only with tools)
//   <|start_header_id|>{role}<|end_header_id|>\n\n{content}{tool calls}<|eot_id|>              (per message)
//   <|start_header_id|>assistant<|end_header_id|>\n\n                                          (generation prompt)
//
// Content parts: text parts are concatenated; image, audio and file parts become one placeholder
// token each (<|image|>, <|audio|>, <|file|>). A tool call renders as
// `<tool_call>{"name": NAME, "arguments": ARGUMENTS}</tool_call>`, exactly what the simulator
// generates when it calls a tool, so a client replaying the call hits the prefix cache.

export const BEGIN_OF_TEXT = '<|begin_of_text|>';
/** End of turn; also the token the simulator samples when it stops on its own (EOS). */
export const END_OF_TURN = '<|eot_id|>';
export const GENERATION_PROMPT = '<|start_header_id|>assistant<|end_header_id|>\n\n';

export interface TemplateToolCall {
  function: { name: string; arguments: string };
}

export interface TemplateMessage {
  role: string;
  content?: unknown;
  tool_calls?: TemplateToolCall[];
}

export interface TemplateTool {
  function: { name: string; description?: string; parameters?: unknown };
}

function header(role: string): string {
  return `<|start_header_id|>${role}<|end_header_id|>\n\n`;
}

const PART_PLACEHOLDERS: Record<string, string> = {
  image_url: '<|image|>',
  input_image: '<|image|>',
  input_audio: '<|audio|>',
  file: '<|file|>',
};

/** The text of a message's content (string, array of parts, or null). */
export function renderContent(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content) {
    if (typeof part === 'string') out += part;
    else if (part && typeof part === 'object') {
      const p = part as { type?: unknown; text?: unknown; refusal?: unknown };
      if (typeof p.text === 'string') out += p.text;
      else if (typeof p.refusal === 'string') out += p.refusal;
      else if (typeof p.type === 'string' && PART_PLACEHOLDERS[p.type]) out += PART_PLACEHOLDERS[p.type];
    }
  }
  return out;
}

/** One tool call as the model writes it. `argumentsJson` is inserted verbatim. */
export function renderToolCall(name: string, argumentsJson: string): string {
  return `<tool_call>{"name": ${JSON.stringify(name)}, "arguments": ${argumentsJson}}</tool_call>`;
}

/** The prompt for a chat request, ending with the generation prompt for the assistant's reply. */
export function renderChatPrompt(messages: readonly TemplateMessage[], tools?: readonly TemplateTool[]): string {
  let out = BEGIN_OF_TEXT;
  if (tools && tools.length > 0) {
    out += header('tools') + tools.map((t) => JSON.stringify(t.function)).join('\n') + END_OF_TURN;
  }
  for (const m of messages) {
    out += header(m.role) + renderContent(m.content);
    if (m.tool_calls) for (const call of m.tool_calls) out += renderToolCall(call.function.name, call.function.arguments);
    out += END_OF_TURN;
  }
  return out + GENERATION_PROMPT;
}
