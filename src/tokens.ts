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
  /**
   * Show the ModelVault sidebar.
   */
  export const open = 'modelvault:open';
  /**
   * Show the sidebar and focus the repository search box.
   */
  export const searchRepositories = 'modelvault:search-repositories';
  /**
   * Show the Violations section.
   */
  export const showViolations = 'modelvault:show-violations';
  /**
   * Show the Set Me Up section.
   */
  export const showSetMeUp = 'modelvault:show-set-me-up';
  /**
   * Show the Bundles section.
   */
  export const showBundles = 'modelvault:show-bundles';
  /**
   * Open the "Create bundle" wizard.
   */
  export const createBundle = 'modelvault:create-bundle';
  /**
   * Rescan the selected file (admin).
   */
  export const rescan = 'modelvault:rescan';
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

  /**
   * A Hub repo of an hf repository (`GET repositories/{key}/hub`).
   */
  export interface IHubRepo {
    repo_id: string;
    repo_type: 'model' | 'dataset' | 'space';
    private: boolean;
    created_at: number;
    created_by: string;
  }

  /**
   * One page of Hub repos; `next` is the `after` of the next page.
   */
  export interface IHubRepoPage {
    repos: IHubRepo[];
    next: string | null;
  }

  /**
   * A long operation in progress (`GET activity`): a cold upstream transfer
   * or a bundle export. A failed one stays listed a while with its message.
   */
  export interface IActivity {
    id: string;
    kind: 'transfer' | 'export';
    /**
     * The repository it is shown under (`null`: vault-wide, e.g. an export).
     */
    repository: string | null;
    /**
     * What it is about: `repo_id/path`, a distribution filename or `name@version`.
     */
    subject: string;
    bytes_done: number;
    /**
     * Expected size in bytes, `null` when unknown.
     */
    total: number | null;
    started_at: number;
    /**
     * `verifying`: every byte arrived and the content is being verified and scanned.
     */
    state: 'running' | 'verifying' | 'failed';
    message: string | null;
  }

  /**
   * A stored distribution file of a PyPI repository (what a bundle can pin).
   */
  export interface IPackageFile {
    filename: string;
    version: string;
    sha256: string;
    size: number;
    requires_python?: string | null;
    yanked?: string | null;
  }

  /**
   * Where the bundle wizard's pickers load their choices from (`BundlesModel`).
   */
  export interface IBundleSource {
    /**
     * One page of the Hub repos of a repository (`after`: the previous page's `next`).
     */
    listHubRepos(key: string, after?: string | null): Promise<IHubRepoPage>;
    /**
     * The projects of a PyPI repository.
     */
    listPackageProjects(key: string): Promise<string[]>;
    /**
     * The stored files of a project (what a bundle can pin).
     */
    listPackageFiles(key: string, project: string): Promise<IPackageFile[]>;
    /**
     * The vault's generic files.
     */
    listGenericFiles(): Promise<IGenericFile[]>;
  }

  /**
   * A generic file of the vault (`GET files`).
   */
  export interface IGenericFile {
    name: string;
    sha256: string;
    size: number;
    created_by?: string;
    created_at?: number;
  }

  /**
   * A policy violation as the server reports it.
   */
  export interface IViolation {
    policy: string;
    action: 'block' | 'warn' | 'audit';
    reason: string;
    evidence?: Record<string, unknown>;
  }

  /**
   * What policy makes of a file: `not-scanned` when the vault has no scan of its content.
   */
  export type FileStatus =
    'clean' | 'warning' | 'blocked' | 'waived' | 'not-scanned';

  /**
   * A file of a Hub repo with its scan verdict and policy status.
   */
  export interface IRepoFile {
    path: string;
    size: number;
    sha256: string;
    lfs: boolean;
    verdict: string | null;
    status: FileStatus;
    violations: IViolation[];
    waived: IViolation[];
  }

  /**
   * Repo-level policy decision (licence, custom code).
   */
  export interface IRepoDecision {
    status: 'allowed' | 'warning' | 'blocked';
    violations: IViolation[];
    waived: IViolation[];
  }

  /**
   * One page of `GET repositories/{key}/hub/{type}s/{ns}/{name}/files`.
   */
  export interface IFilePage {
    repository: string;
    repo_id: string;
    repo_type: string;
    revision: string;
    commit: string;
    source: string;
    warning: string | null;
    files: IRepoFile[];
    next: string | null;
    /**
     * First page only.
     */
    total?: number;
    license?: string | null;
    decision?: IRepoDecision;
  }

  /**
   * One finding of the scanner.
   */
  export interface IFinding {
    severity: string;
    rule: string;
    message: string;
    global?: string | null;
    offset?: number | null;
    inner_path?: string | null;
    format?: string | null;
  }

  /**
   * A blob's scan record (`GET scans/{sha256}`).
   */
  export interface IScan {
    sha256: string;
    verdict: string;
    scanner_version: string;
    scanned_at: number;
    report: {
      findings?: IFinding[];
      format?: string;
      [key: string]: unknown;
    };
  }

  /**
   * An audit event.
   */
  export interface IAuditEvent {
    id: number;
    ts: number;
    actor: string;
    action: string;
    repository: string | null;
    subject: string | null;
    detail: {
      policy?: string;
      reason?: string;
      evidence?: Record<string, unknown>;
      [key: string]: unknown;
    };
  }

  /**
   * Body of `GET violations`.
   */
  export interface IViolations {
    events: IAuditEvent[];
    flagged_blobs: IScan[];
  }

  /**
   * A global policy; `summary` says what it does (its action bounds every parameter).
   */
  export interface IPolicy {
    name: string;
    kind: string;
    action: 'block' | 'warn' | 'audit';
    params: Record<string, unknown>;
    summary: string;
  }

  /**
   * A waiver.
   */
  export interface IWaiver {
    id: number;
    policy: string;
    repository: string | null;
    repo_type: string | null;
    repo_id: string | null;
    commit: string | null;
    sha256: string | null;
    justification: string;
    created_by: string;
    created_at: number;
    expires_at: number;
    revoked_at: number | null;
  }

  /**
   * Body of `POST waivers`.
   */
  export interface IWaiverRequest {
    policy: string;
    repo_id?: string;
    repo_type?: string;
    repository?: string;
    commit?: string;
    sha256?: string;
    justification: string;
    expires_in_seconds: number;
  }

  /**
   * Body of `POST tokens`.
   */
  export interface ITokenRequest {
    name: string;
    scope: 'read' | 'write';
    repositories: string[];
    expires_in_seconds?: number;
  }

  /**
   * Answer of `POST tokens`: the secret is shown once.
   */
  export interface IIssuedToken {
    token: string;
    id: string;
    name: string;
    scope: string;
    repositories: string[];
    expires_at: number | null;
  }

  /**
   * A release bundle (`GET bundles`).
   */
  export interface IBundle {
    name: string;
    version: string;
    digest?: string;
    /**
     * The environment the bundle is promoted to, if any.
     */
    environment?: string | null;
    created_by?: string;
    created_at?: number;
    origin?: string | null;
  }

  /**
   * `GET bundles`: the ordered environments and the bundles.
   */
  export interface IBundleList {
    environments: string[];
    bundles: IBundle[];
  }

  /**
   * A component of a `POST bundles` request.
   */
  export type BundleComponentRequest =
    | {
        kind: 'hub';
        repository: string;
        repo_type?: string;
        repo_id: string;
        revision?: string;
      }
    | {
        kind: 'package';
        repository: string;
        name: string;
        version: string;
        filename?: string;
      }
    | { kind: 'file'; name: string };

  /**
   * Body of `POST bundles`.
   */
  export interface IBundleCreateRequest {
    name: string;
    version: string;
    description?: string;
    components: BundleComponentRequest[];
  }

  /**
   * A blocking violation of a refused bundle (`BundleBlocked`).
   */
  export interface IBundleViolation {
    component: string;
    policy: string;
    reason: string;
    evidence?: unknown;
    message: string;
  }

  /**
   * A pinned file of a bundle component.
   */
  export interface IBundleFile {
    path?: string;
    name?: string;
    sha256: string;
    size?: number;
  }

  /**
   * A component of a bundle manifest (fields depend on `kind`).
   */
  export interface IBundleComponent {
    kind: string;
    repo_id?: string;
    repo_type?: string;
    commit?: string;
    name?: string;
    version?: string;
    filename?: string;
    sha256?: string;
    size?: number;
    files?: IBundleFile[];
    [key: string]: unknown;
  }

  /**
   * A signed promotion record.
   */
  export interface IBundlePromotion {
    from?: string | null;
    to: string;
    by?: string;
    at?: number;
    seq?: number;
    [key: string]: unknown;
  }

  /**
   * `GET bundles/{name}/{version}`.
   */
  export interface IBundleDetail extends IBundle {
    signature?: { algorithm?: string; key_id?: string; signature?: string };
    manifest?: { components?: IBundleComponent[]; [key: string]: unknown };
    promotions?: IBundlePromotion[];
  }

  /**
   * `GET bundles/{name}/{version}/verify`.
   */
  export interface IBundleVerifyReport {
    ok: boolean;
    problems?: { sha256: string; problem: string }[];
    [key: string]: unknown;
  }
}
