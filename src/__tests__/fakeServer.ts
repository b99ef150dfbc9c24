import { ServerConnection } from '@jupyterlab/services';

/**
 * A request seen by the fake server.
 */
export interface IFakeRequest {
  method: string;
  url: string;
}

/**
 * A handler answering one request of the fake server.
 */
export type FakeHandler = (
  request: IFakeRequest
) => Response | Promise<Response>;

/**
 * The base URL of the fake server: a non-root base URL, like pytest-jupyter's.
 */
export const BASE_URL = 'http://localhost:8888/a%40b/';

/**
 * Server settings whose `fetch` is answered by `handler`, recording each request.
 */
export function fakeSettings(
  handler: FakeHandler,
  requests: IFakeRequest[] = []
): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: BASE_URL,
    appendToken: false,
    fetch: async (input: RequestInfo, init?: RequestInit) => {
      const request =
        input instanceof Request
          ? { method: input.method, url: input.url }
          : { method: init?.method ?? 'GET', url: String(input) };
      requests.push(request);
      return handler(request);
    }
  });
}

/**
 * A JSON response.
 */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

/**
 * jupyter_server's HTML "404: Not Found" page, as served for an unknown route.
 */
export function html404(): Response {
  return new Response('<html><body>404 : Not Found</body></html>', {
    status: 404,
    statusText: 'Not Found',
    headers: { 'Content-Type': 'text/html' }
  });
}

/**
 * Route requests by path (below the base URL, without query) to handlers.
 */
export function routes(table: Record<string, FakeHandler>): FakeHandler {
  return request => {
    const path = new URL(request.url).pathname.slice(
      new URL(BASE_URL).pathname.length
    );
    const handler = table[path];
    return handler ? handler(request) : html404();
  };
}
