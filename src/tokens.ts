import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

/**
 * Command ids of the ModelVault extension (`modelvault:verb-noun`).
 */
export namespace CommandIDs {
  /**
   * Re-check the server and reload the repository list.
   */
  export const refresh = 'modelvault:refresh';
}

/**
 * The ModelVault service token: server handshake, repository list and refresh.
 *
 * Other extensions require it to add their own views of the vault.
 */
export const IModelVault = new Token<IModelVault>(
  'modelvault-jlab:IModelVault',
  'ModelVault: server status and repository list of the ModelVault server extension.'
);

/**
 * The ModelVault service provided by the core plugin.
 */
export interface IModelVault extends IDisposable {
  /**
   * The result of the last `modelvault/api/info` handshake.
   */
  readonly serverStatus: ModelVault.ServerStatus;

  /**
   * Emitted when the server status changes state (sender first, then the new status).
   */
  readonly serverStatusChanged: ISignal<IModelVault, ModelVault.ServerStatus>;

  /**
   * The repositories of the vault.
   */
  readonly repositories: ModelVault.IRepositoryListModel;

  /**
   * Re-check the server if it was not available, then reload the repositories.
   *
   * #### Notes
   * Never rejects: failures are reported through `serverStatus` and
   * `repositories.error`.
   */
  refresh(): Promise<void>;
}

/**
 * Wire types of the ModelVault sidebar API and public model interfaces.
 *
 * #### Notes
 * The wire types mirror the server's JSON (snake_case keys kept as sent).
 */
export namespace ModelVault {
  /**
   * The Jupyter user as seen by the ModelVault server.
   */
  export interface IUser {
    name: string;
    admin: boolean;
  }

  /**
   * Body of `GET modelvault/api/info`.
   */
  export interface IServerInfo {
    name: string;
    version: string;
    data_dir_backend?: string;
    /**
     * The requesting user; `null` for an anonymous request.
     */
    user?: IUser | null;
  }

  /**
   * One repository of the vault.
   */
  export interface IRepository {
    /**
     * Unique key, used in URLs (for example `models`).
     */
    key: string;
    /**
     * Repository kind, for example `hf-local`.
     */
    kind: string;
    public: boolean;
    description: string;
    /**
     * Endpoint to give `huggingface_hub` (`HF_ENDPOINT`), for Hub repositories.
     */
    hub_endpoint?: string | null;
    /**
     * Simple index URL to give pip (`--index-url`), for PyPI repositories.
     */
    index_url?: string | null;
  }

  /**
   * Body of `GET modelvault/api/repositories`.
   */
  export interface IRepositoryList {
    repositories: IRepository[];
  }

  /**
   * JSON error body of the sidebar API (jupyter_server's body plus `code`).
   */
  export interface IErrorBody {
    message?: string;
    reason?: string | null;
    code?: string | null;
    details?: unknown;
    traceback?: string;
  }

  /**
   * Outcome of the frontend/server handshake.
   *
   * - `unknown`: not checked yet.
   * - `ready`: the server answered with the frontend's version.
   * - `version-mismatch`: the server works but its version differs.
   * - `not-installed`: the API route does not exist (server extension missing or disabled).
   * - `error`: any other failure; `message` is the server's message when it sent one.
   */
  export type ServerStatus =
    | { readonly state: 'unknown' }
    | { readonly state: 'ready'; readonly info: IServerInfo }
    | {
        readonly state: 'version-mismatch';
        readonly info: IServerInfo;
        readonly frontendVersion: string;
      }
    | { readonly state: 'not-installed' }
    | {
        readonly state: 'error';
        readonly message: string;
        readonly code: string | null;
      };

  /**
   * The repository list state.
   */
  export interface IRepositoryListModel {
    /**
     * The repositories from the last successful load.
     */
    readonly items: ReadonlyArray<IRepository>;
    /**
     * Whether at least one load succeeded.
     */
    readonly isLoaded: boolean;
    /**
     * Whether a load is in flight.
     */
    readonly isLoading: boolean;
    /**
     * The message of the last failed load, `null` after a success.
     */
    readonly error: string | null;
    /**
     * Emitted whenever any of the above changes.
     */
    readonly changed: ISignal<IRepositoryListModel, void>;
    /**
     * Reload the list; never rejects (see `error`).
     */
    refresh(): Promise<void>;
  }
}
