import { createLogger } from '../../../common/src/index.ts';
import type { Json, JsonObject } from '../store/records.ts';

const log = createLogger('mock-ironic:agent-client');

/** One entry of the agent's command list (reference §5, agent_client.py `get_commands_status`). */
export interface AgentCommand {
  id?: string;
  command_name: string;
  command_params?: Json;
  command_status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'VERSION_MISMATCH' | 'CLEAN_VERSION_MISMATCH' | string;
  command_error: Json;
  command_result: Json;
}

/** The agent refused the command because another one is running (HTTP 409 or "agent is busy"). */
export class AgentInProgress extends Error {}

/** The agent answered a command with HTTP >= 400. */
export class AgentApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface AgentClientConfig {
  /** `[agent]command_timeout` in ms (Ironic: 60 s). */
  commandTimeoutMs: number;
}

/**
 * Ironic's agent_client.py: `POST {agent_url}/v1/commands/?wait=<bool>&agent_token=<token>` with
 * `{"name": "<ext>.<cmd>", "params": {...}}`, and `GET {agent_url}/v1/commands/` for the status list.
 */
export class AgentClient {
  readonly #cfg: AgentClientConfig;

  constructor(cfg: AgentClientConfig) {
    this.#cfg = cfg;
  }

  async command(
    agentUrl: string,
    token: string | undefined,
    name: string,
    params: JsonObject,
    wait: boolean,
  ): Promise<AgentCommand> {
    const url = new URL(`${agentUrl.replace(/\/$/, '')}/v1/commands/`);
    url.searchParams.set('wait', String(wait));
    if (token) url.searchParams.set('agent_token', token);
    log.debug('%s -> %s (wait=%s)', name, agentUrl, wait);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name, params }),
      signal: AbortSignal.timeout(this.#cfg.commandTimeoutMs),
    });
    const text = await res.text();
    let body: JsonObject = {};
    try {
      body = text ? (JSON.parse(text) as JsonObject) : {};
    } catch {
      throw new Error(
        `Unable to decode response as JSON. Request URL: ${url} Response status code: ${res.status}`,
      );
    }
    if (res.status >= 400) {
      const fault = typeof body['faultstring'] === 'string' ? body['faultstring'] : text;
      if (res.status === 409 || fault.toLowerCase().includes('agent is busy')) {
        throw new AgentInProgress(`Agent is busy running ${name}: ${fault}`);
      }
      throw new AgentApiError(
        res.status,
        `Agent API for node returned HTTP status code ${res.status} with error: ${fault}`,
      );
    }
    const err = body['command_error'] as JsonObject | null | undefined;
    // agent_client.py `_raise_if_typeerror`: a TypeError means Ironic and the agent disagree on the API.
    if (err && typeof err === 'object' && err['type'] === 'TypeError') {
      throw new AgentApiError(400, `Agent command ${name} failed with TypeError: ${String(err['message'])}`);
    }
    return body as unknown as AgentCommand;
  }

  async commandsStatus(agentUrl: string): Promise<AgentCommand[]> {
    const res = await fetch(`${agentUrl.replace(/\/$/, '')}/v1/commands/`, {
      signal: AbortSignal.timeout(this.#cfg.commandTimeoutMs),
    });
    if (!res.ok) throw new AgentApiError(res.status, `GET commands: HTTP ${res.status}`);
    const body = (await res.json()) as { commands?: AgentCommand[] };
    return body.commands ?? [];
  }
}

/** agent_client.py `get_command_error`. */
export function commandError(cmd: AgentCommand): string {
  const err = cmd.command_error;
  if (err && typeof err === 'object' && !Array.isArray(err)) {
    return String(err['details'] ?? err['message'] ?? JSON.stringify(err));
  }
  return String(err);
}
