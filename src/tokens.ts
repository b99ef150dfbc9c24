import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

import type { components } from './api/schema';

/**
 * The schemas of the OpenAPI description of the JSON API.
 */
type Schemas = components['schemas'];

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

  // Actions of the sidebar's views (see `src/actions/commands.ts`): each
  // reports its own failure, so any view may execute them.

  /**
   * Open a repository of the vault (args: `repository`), listing its Hub repos.
   */
  export const openRepository = 'modelvault:open-repository';
  /**
   * Open a Hub repo (args: `repository`, `repoType`, `repoId`, optional
   * `revision`): what the sidebar's Hub repo rows execute, so a richer view
   * of a repo (a model page) can take over here.
   */
  export const openHubRepo = 'modelvault:open-hub-repo';
  /**
   * Load the next page of the open repository's Hub repos.
   */
  export const loadMoreHubRepos = 'modelvault:load-more-hub-repos';
  /**
   * Load the next page of the open Hub repo's files.
   */
  export const loadMoreFiles = 'modelvault:load-more-files';
  /**
   * Grant a waiver (args: a `WaiverRequest`; admin).
   */
  export const grantWaiver = 'modelvault:grant-waiver';
  /**
   * Revoke a waiver (args: `id`; admin).
   */
  export const revokeWaiver = 'modelvault:revoke-waiver';
  /**
   * Mint a token (args: `scope`, `expiresInSeconds`, `repository`).
   */
  export const mintToken = 'modelvault:mint-token';
  /**
   * Copy a text to the clipboard (args: `text`, `what` for the notification).
   */
  export const copy = 'modelvault:copy';
  /**
   * Create a bundle from the wizard's request (args: a `BundleCreateRequest`).
   */
  export const submitBundle = 'modelvault:submit-bundle';
  /**
   * Verify the open bundle.
   */
  export const verifyBundle = 'modelvault:verify-bundle';
  /**
   * Promote the open bundle to the next environment (admin).
   */
  export const promoteBundle = 'modelvault:promote-bundle';
  /**
   * Save the open bundle's archive or AI-BOM (args: `what`: `archive` or `bom`).
   */
  export const downloadBundle = 'modelvault:download-bundle';
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
 * The wire types are aliases of the types generated from the server's OpenAPI
 * description (`src/api/schema.ts`, `jlpm build:schema`), so they cannot drift
 * from what the server sends; snake_case keys are kept as sent.
 */
export namespace ModelVault {
  /**
   * The Jupyter user as seen by the ModelVault server.
   */
  export type IUser = Schemas['User'];

  /**
   * Body of `GET modelvault/api/info`; `user` is `null` for an anonymous request.
   */
  export type IServerInfo = Schemas['ServerInfo'];

  /**
   * One repository of the vault (`hub_endpoint` for Hub kinds, `index_url` for PyPI kinds).
   */
  export type IRepository = Schemas['Repository'];

  /**
   * Body of `GET modelvault/api/repositories`.
   */
  export type IRepositoryList = Schemas['RepositoryList'];

  /**
   * JSON error body of the sidebar API, as far as it was sent (jupyter_server's
   * own error bodies add `traceback`).
   */
  export type IErrorBody = Partial<Schemas['Error']> & { traceback?: string };

  /**
   * A Hub repo of an hf repository (`GET repositories/{key}/hub`).
   */
  export type IHubRepo = Schemas['HubRepo'];

  /**
   * One page of Hub repos; `next` is the `after` of the next page.
   */
  export type IHubRepoPage = Schemas['HubRepoPage'];

  /**
   * A long operation in progress (`GET activity`): a cold upstream transfer
   * or a bundle export. A failed one stays listed a while with its message.
   */
  export type IActivity = Schemas['Activity'];

  /**
   * A stored distribution file of a PyPI repository (what a bundle can pin).
   */
  export type IPackageFile = Schemas['PackageFile'];

  /**
   * A generic file of the vault (`GET files`).
   */
  export type IGenericFile = Schemas['GenericFile'];

  /**
   * Body of `GET activity`.
   */
  export type IActivityList = Schemas['ActivityList'];

  /**
   * Body of `GET repositories/{key}/packages`.
   */
  export type IPackageProjects = Schemas['PackageProjects'];

  /**
   * Body of `GET repositories/{key}/packages/{project}`.
   */
  export type IPackageFiles = Schemas['PackageFiles'];

  /**
   * Body of `GET files`.
   */
  export type IGenericFileList = Schemas['GenericFileList'];

  /**
   * Body of `GET policies`.
   */
  export type IPolicyList = Schemas['PolicyList'];

  /**
   * Body of `GET waivers`.
   */
  export type IWaiverList = Schemas['WaiverList'];

  /**
   * Body of `GET audit`; `next` is the `before` of the next page.
   */
  export type IAuditPage = Schemas['AuditPage'];

  /**
   * A policy violation as the server reports it.
   */
  export type IViolation = Schemas['Violation'];

  /**
   * What policy makes of a file: `not-scanned` when the vault has no scan of its content.
   */
  export type FileStatus = Schemas['FileStatus'];

  /**
   * A file of a Hub repo with its scan verdict and policy status.
   */
  export type IRepoFile = Schemas['RepoFile'];

  /**
   * Repo-level policy decision (licence, custom code).
   */
  export type IRepoDecision = Schemas['RepoDecision'];

  /**
   * One page of `GET repositories/{key}/hub/{type}s/{ns}/{name}/files`
   * (`total`, `license` and `decision` on the first page only).
   */
  export type IFilePage = Schemas['FilePage'];

  /**
   * One finding of the scanner.
   */
  export type IFinding = Schemas['Finding'];

  /**
   * A blob's scan record (`GET scans/{sha256}`).
   */
  export type IScan = Schemas['Scan'];

  /**
   * An audit event.
   */
  export type IAuditEvent = Schemas['AuditEvent'];

  /**
   * Body of `GET violations`.
   */
  export type IViolations = Schemas['Violations'];

  /**
   * A waiver.
   */
  export type IWaiver = Schemas['Waiver'];

  /**
   * A global policy; `summary` says what it does (its action bounds every parameter).
   */
  export type IPolicy = Schemas['Policy'];

  /**
   * Body of `POST waivers`.
   */
  export type IWaiverRequest = Schemas['WaiverRequest'];

  /**
   * Body of `POST tokens`.
   */
  export type ITokenRequest = Schemas['TokenRequest'];

  /**
   * Answer of `POST tokens`: the secret is shown once.
   */
  export type IIssuedToken = Schemas['IssuedToken'];

  /**
   * A release bundle (`GET bundles`).
   */
  export type IBundle = Schemas['BundleSummary'];

  /**
   * `GET bundles`: the ordered environments and the bundles.
   */
  export type IBundleList = Schemas['BundleList'];

  /**
   * A component of a `POST bundles` request.
   */
  export type BundleComponentRequest = Schemas['BundleComponentRequest'];

  /**
   * Body of `POST bundles`.
   */
  export type IBundleCreateRequest = Schemas['BundleCreateRequest'];

  /**
   * A blocking violation of a refused bundle (`BundleBlocked`).
   */
  export type IBundleViolation = Schemas['BundleViolation'];

  /**
   * A pinned file of a Hub component of a bundle.
   */
  export type IBundleFile = Schemas['PinnedFile'];

  /**
   * A component of a bundle manifest (fields depend on `kind`).
   */
  export type IBundleComponent = Schemas['BundleComponent'];

  /**
   * A signed promotion record.
   */
  export type IBundlePromotion = Schemas['BundlePromotion'];

  /**
   * `GET bundles/{name}/{version}`.
   */
  export type IBundleDetail = Schemas['BundleDetail'];

  /**
   * `GET bundles/{name}/{version}/verify`.
   */
  export type IBundleVerifyReport = Schemas['BundleVerifyReport'];

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
}
