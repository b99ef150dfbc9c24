import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { ModelVault } from '../tokens';

/**
 * URL path segments of the sidebar API below the server's base URL.
 */
const API_NAMESPACE = ['modelvault', 'api'];

/**
 * An error response of the ModelVault sidebar API.
 *
 * Carries the HTTP `status` and the server's stable error `code`
 * (for example `RepositoryNotFound`), so that callers branch on codes,
 * never on message text. `code` is `null` when the body was not a ModelVault
 * error body, for example jupyter_server's HTML 404 page when the server
 * extension is not installed.
 */
export class VaultResponseError extends ServerConnection.ResponseError {
  /**
   * Create a new error for a response that is not ok.
   */
  constructor(response: Response, options: VaultResponseError.IOptions = {}) {
    super(
      response,
      options.message || Private.defaultMessage(response),
      options.traceback ?? ''
    );
    this.name = 'VaultResponseError';
    this.code = options.code ?? null;
    this.reason = options.reason ?? null;
    this.details = options.details;
  }

  /**
   * The HTTP status code.
   */
  get status(): number {
    return this.response.status;
  }

  /**
   * The server's stable error code, if it sent one.
   */
  readonly code: string | null;

  /**
   * The HTTP reason phrase chosen by the server, if any.
   */
  readonly reason: string | null;

  /**
   * Structured details of the error, if any.
   */
  readonly details: unknown;

  /**
   * Build an error from a response and its parsed body (`undefined` if not JSON).
   */
  static fromResponse(response: Response, body: unknown): VaultResponseError {
    if (!Private.isErrorBody(body)) {
      return new VaultResponseError(response);
    }
    return new VaultResponseError(response, {
      message: body.message,
      reason: body.reason,
      code: body.code,
      details: body.details,
      traceback: body.traceback
    });
  }
}

/**
 * The static namespace for `VaultResponseError`.
 */
export namespace VaultResponseError {
  /**
   * Options to create a `VaultResponseError`.
   */
  export interface IOptions {
    message?: string;
    reason?: string | null;
    code?: string | null;
    details?: unknown;
    traceback?: string;
  }
}

/**
 * Call the ModelVault sidebar API.
 *
 * @param path Endpoint below `{baseUrl}modelvault/api/`, e.g. `repositories`.
 * @param init Request options (method, body, headers).
 * @param serverSettings The Jupyter server connection settings (base URL, token, XSRF).
 * @param query Query parameters to append to the URL.
 * @returns The response body parsed as JSON (`undefined` for an empty body).
 *
 * @throws {VaultResponseError} If the server answered with an error status.
 * @throws {ServerConnection.NetworkError} If the server could not be reached.
 */
export async function requestAPI<T>(
  path: string,
  init: RequestInit,
  serverSettings: ServerConnection.ISettings,
  query: Record<string, string> = {}
): Promise<T> {
  const url =
    URLExt.join(serverSettings.baseUrl, ...API_NAMESPACE, path) +
    (Object.keys(query).length > 0 ? URLExt.objectToQueryString(query) : '');

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, serverSettings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }

  const text = await response.text();
  let body: unknown = undefined;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
  }

  if (!response.ok) {
    throw VaultResponseError.fromResponse(response, body);
  }
  if (body === undefined && text.length > 0) {
    throw new VaultResponseError(response, {
      message: `Invalid JSON in the response of ${path}`
    });
  }
  return body as T;
}

/**
 * A user-facing message for an error thrown by `requestAPI` or a client method.
 *
 * Server errors keep the server's own message; network failures say so.
 */
export function describeError(error: unknown): string {
  if (error instanceof VaultResponseError) {
    return error.message;
  }
  if (error instanceof ServerConnection.NetworkError) {
    return `Could not reach the Jupyter server: ${error.message}`;
  }
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}

/**
 * Module internals.
 */
namespace Private {
  /**
   * Whether a parsed body looks like a ModelVault/jupyter_server error body.
   */
  export function isErrorBody(body: unknown): body is ModelVault.IErrorBody {
    return (
      typeof body === 'object' &&
      body !== null &&
      !Array.isArray(body) &&
      (typeof (body as ModelVault.IErrorBody).message === 'string' ||
        typeof (body as ModelVault.IErrorBody).code === 'string')
    );
  }

  /**
   * The message used when the server sent no message.
   */
  export function defaultMessage(response: Response): string {
    const status = `${response.status} ${response.statusText}`.trim();
    return `Request to ${Private.pathOf(response.url)} failed: ${status}`;
  }

  /**
   * The path of a URL, or the URL itself if it cannot be parsed.
   */
  export function pathOf(url: string): string {
    try {
      return new URL(url).pathname;
    } catch {
      return url;
    }
  }
}
