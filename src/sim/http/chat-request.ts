// Validates a /v1/chat/completions body and decides what the simulated model will answer:
// the rendered prompt, and whether it calls a tool (and which) or writes text.

import { renderChatPrompt, type TemplateMessage, type TemplateTool } from '../text/chat-template.ts';
import { encode } from '../text/tokenizer.ts';
import { Rng } from '../util/rng.ts';
import { checkModel, outputBudget, type SimContext } from './context.ts';
import { isObject, parseSampling, type Body, type SamplingParams } from './params.ts';
import { badRequest } from './respond.ts';

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);

export interface ChatTool extends TemplateTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: unknown };
}

export interface ChatJob {
  prompt: string;
  promptIds: number[];
  sampling: SamplingParams;
  /** Most tokens each choice may generate. */
  outputCap: number;
  /** The function the model calls, or null for a text answer. */
  toolToCall: ChatTool | null;
  /** Its index in `tools`, for errors that name it. */
  toolIndex: number;
  /** Seed of choice 0; choice i uses a derivation of it. */
  baseSeed: number;
}

function parseToolCalls(value: unknown, path: string): TemplateMessage['tool_calls'] {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw badRequest(`${path} must be an array.`, path);
  return value.map((call, j) => {
    const fn = isObject(call) ? call.function : undefined;
    if (!isObject(fn) || typeof fn.name !== 'string') throw badRequest(`${path}[${j}].function.name must be a string.`, `${path}[${j}].function.name`);
    const args = fn.arguments ?? '{}';
    if (typeof args !== 'string') throw badRequest(`${path}[${j}].function.arguments must be a string.`, `${path}[${j}].function.arguments`);
    return { function: { name: fn.name, arguments: args } };
  });
}

function parseMessages(value: unknown): TemplateMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw badRequest('messages must be a non-empty array.', 'messages');
  return value.map((m, i) => {
    const path = `messages[${i}]`;
    if (!isObject(m)) throw badRequest(`${path} must be an object.`, path);
    if (typeof m.role !== 'string' || !ROLES.has(m.role)) throw badRequest(`${path}.role must be one of: ${[...ROLES].join(', ')}.`, `${path}.role`);
    const content = m.content;
    if (content !== undefined && content !== null && typeof content !== 'string' && !Array.isArray(content)) {
      throw badRequest(`${path}.content must be a string, an array of content parts, or null.`, `${path}.content`);
    }
    return { role: m.role, content, tool_calls: parseToolCalls(m.tool_calls, `${path}.tool_calls`) };
  });
}

function parseTools(value: unknown): ChatTool[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest('tools must be an array.', 'tools');
  return value.map((t, i) => {
    const fn = isObject(t) ? t.function : undefined;
    if (!isObject(t) || t.type !== 'function' || !isObject(fn) || typeof fn.name !== 'string' || fn.name === '') {
      throw badRequest(`tools[${i}] must be {"type": "function", "function": {"name": ...}}.`, `tools[${i}]`);
    }
    if (fn.parameters !== undefined && !isObject(fn.parameters)) throw badRequest(`tools[${i}].function.parameters must be a JSON schema object.`, `tools[${i}].function.parameters`);
    return {
      type: 'function',
      function: { name: fn.name, ...(typeof fn.description === 'string' ? { description: fn.description } : {}), ...(fn.parameters !== undefined ? { parameters: fn.parameters } : {}) },
    };
  });
}

/**
 * Tool policy: no tools or tool_choice "none" → text; a named function → that one; "required" →
 * a deterministic pick; "auto" (the default) → a pick when the conversation ends with a user
 * message, text when it ends with a tool result (the model answers with what the tool returned).
 */
function chooseTool(body: Body, tools: ChatTool[], messages: TemplateMessage[], seed: number): ChatTool | null {
  const choice = body.tool_choice ?? 'auto';
  if (isObject(choice)) {
    const fn = choice.function;
    const name = isObject(fn) ? fn.name : undefined;
    if (choice.type !== 'function' || typeof name !== 'string') throw badRequest('tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}.', 'tool_choice');
    const tool = tools.find((t) => t.function.name === name);
    if (!tool) throw badRequest(`tool_choice names function "${name}", which is not in tools.`, 'tool_choice');
    return tool;
  }
  if (choice !== 'none' && choice !== 'auto' && choice !== 'required') throw badRequest('tool_choice must be "none", "auto", "required" or a named function.', 'tool_choice');
  if (choice === 'required' && tools.length === 0) throw badRequest('tool_choice "required" needs at least one tool.', 'tool_choice');
  if (tools.length === 0 || choice === 'none') return null;
  if (choice === 'auto' && messages[messages.length - 1].role !== 'user') return null;
  return Rng.from('tool', seed).pick(tools);
}

export function parseChatRequest(ctx: SimContext, body: Body): ChatJob {
  checkModel(ctx, body.model);
  const messages = parseMessages(body.messages);
  const tools = parseTools(body.tools);
  const sampling = parseSampling(body, ['max_completion_tokens', 'max_tokens']);
  const prompt = renderChatPrompt(messages, tools);
  const promptIds = encode(prompt);
  const outputCap = outputBudget(ctx, promptIds.length, sampling.maxTokens, 'messages');
  const baseSeed = Rng.from(ctx.seed, sampling.seed ?? prompt).nextU32();
  const toolToCall = chooseTool(body, tools, messages, baseSeed);
  return { prompt, promptIds, sampling, outputCap, toolToCall, toolIndex: toolToCall ? tools.indexOf(toolToCall) : -1, baseSeed };
}
