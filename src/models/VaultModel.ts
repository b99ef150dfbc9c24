import { JSONExt, ReadonlyJSONValue } from '@lumino/coreutils';
import { ISignal, Signal } from '@lumino/signaling';

import type { VaultClient } from '../api/client';
import { describeError, VaultResponseError } from '../api/request';
import type { IModelVault, ModelVault } from '../tokens';
import { ActivityModel } from './ActivityModel';
import { BrowserModel } from './BrowserModel';
import { BundlesModel } from './BundlesModel';
import { RepoListModel } from './RepoListModel';
import { SetMeUpModel } from './SetMeUpModel';
import { ViolationsModel } from './ViolationsModel';

/**
 * The ModelVault service: server handshake plus the models of the sidebar.
 *
 * `checkServer()` calls `modelvault/api/info?version=<frontend version>` and
 * classifies the answer (see `ModelVault.ServerStatus`). The repository list
 * polls only while the server is available and `refreshStandby()` is `false`.
 */
export class VaultModel implements IModelVault {
  /**
   * Create the model. No request is made until `checkServer()` or `refresh()`.
   */
  constructor(options: VaultModel.IOptions) {
    this._client = options.client;
    this._frontendVersion = options.frontendVersion;
    this.repositories = new RepoListModel({
      client: options.client,
      refreshInterval: options.refreshInterval,
      standby: () => !this.isServerAvailable || this.refreshStandby()
    });
    this.browser = new BrowserModel({ client: options.client });
    this.activity = new ActivityModel({
      client: options.client,
      // Live by default; a caller that disables polling disables this one too.
      refreshInterval: options.refreshInterval === 0 ? 0 : undefined,
      standby: () => !this.isServerAvailable || this.refreshStandby()
    });
    this.violations = new ViolationsModel({
      client: options.client,
      refreshInterval: options.refreshInterval,
      standby: () => !this.isServerAvailable || this.refreshStandby()
    });
    this.setMeUp = new SetMeUpModel({ client: options.client });
    this.bundles = new BundlesModel({
      client: options.client,
      onBundlesChanged: () => void this.setMeUp.refreshBundles()
    });
    // A waiver or its revocation changes what the browsed files may do.
    this.violations.waiversChanged.connect(() => {
      void this.browser.reloadFiles();
    });
  }

  /**
   * The repository list.
   */
  readonly repositories: RepoListModel;

  /**
   * Browsing state: repository, Hub repos, files, selected file and its scan.
   */
  readonly browser: BrowserModel;

  /**
   * Violations, waivers and audit trail.
   */
  readonly violations: ViolationsModel;

  /**
   * Long operations in progress on the server (transfers, exports).
   */
  readonly activity: ActivityModel;

  /**
   * The Bundles section: wizard, opened bundle, verification, promotion.
   */
  readonly bundles: BundlesModel;

  /**
   * Set Me Up (minted token) and bundles.
   */
  readonly setMeUp: SetMeUpModel;

  /**
   * The poll interval of the repository list and the violations, in milliseconds.
   */
  get refreshInterval(): number {
    return this.repositories.refreshInterval;
  }
  set refreshInterval(milliseconds: number) {
    this.repositories.refreshInterval = milliseconds;
    this.violations.refreshInterval = milliseconds;
  }

  /**
   * Whether the current Jupyter user administers the vault.
   */
  get isAdmin(): boolean {
    const status = this._serverStatus;
    return (
      (status.state === 'ready' || status.state === 'version-mismatch') &&
      !!status.info.user?.admin
    );
  }

  /**
   * Extra standby condition of the repository poll, e.g. "the sidebar is hidden".
   */
  refreshStandby: () => boolean = () => false;

  /**
   * The API client.
   */
  get client(): VaultClient {
    return this._client;
  }

  /**
   * The frontend version sent in the handshake.
   */
  get frontendVersion(): string {
    return this._frontendVersion;
  }

  /**
   * The result of the last handshake.
   */
  get serverStatus(): ModelVault.ServerStatus {
    return this._serverStatus;
  }

  /**
   * Emitted when the server status changes.
   */
  get serverStatusChanged(): ISignal<this, ModelVault.ServerStatus> {
    return this._serverStatusChanged;
  }

  /**
   * Whether the server extension answers (possibly with another version).
   */
  get isServerAvailable(): boolean {
    const { state } = this._serverStatus;
    return state === 'ready' || state === 'version-mismatch';
  }

  /**
   * Whether the model is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Run the handshake. Concurrent calls share one request; never rejects.
   *
   * Once the server is available, the repository poll starts.
   */
  checkServer(): Promise<ModelVault.ServerStatus> {
    if (!this._pendingCheck) {
      this._pendingCheck = this._client
        .getInfo(this._frontendVersion)
        .then(
          info => Private.statusFromInfo(info, this._frontendVersion),
          (reason: unknown) => Private.statusFromError(reason)
        )
        .then(status => {
          this._setServerStatus(status);
          if (this.isServerAvailable) {
            this.repositories.startPolling();
            this.violations.startPolling();
            this.activity.startPolling();
            void this.setMeUp.refreshBundles();
            void this.bundles.loadEnvironments();
          }
          return this._serverStatus;
        })
        .finally(() => {
          this._pendingCheck = null;
        });
    }
    return this._pendingCheck;
  }

  /**
   * Re-check the server unless it is known to be available, then reload the repositories.
   */
  async refresh(): Promise<void> {
    if (!this.isServerAvailable) {
      await this.checkServer();
    }
    if (this.isServerAvailable && !this.isDisposed) {
      await Promise.all([
        this.repositories.refresh(),
        this.violations.refresh(),
        this.activity.refresh(),
        this.browser.reloadFiles()
      ]);
    }
  }

  /**
   * Dispose of the model and its sub-models.
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.repositories.dispose();
    this.browser.dispose();
    this.violations.dispose();
    this.activity.dispose();
    this.setMeUp.dispose();
    this.bundles.dispose();
    Signal.clearData(this);
  }

  private _setServerStatus(status: ModelVault.ServerStatus): void {
    if (this.isDisposed || Private.isSameStatus(status, this._serverStatus)) {
      return;
    }
    this._serverStatus = status;
    this._serverStatusChanged.emit(status);
  }

  private _client: VaultClient;
  private _frontendVersion: string;
  private _isDisposed = false;
  private _pendingCheck: Promise<ModelVault.ServerStatus> | null = null;
  private _serverStatus: ModelVault.ServerStatus = { state: 'unknown' };
  private _serverStatusChanged = new Signal<this, ModelVault.ServerStatus>(
    this
  );
}

/**
 * The static namespace for `VaultModel`.
 */
export namespace VaultModel {
  /**
   * Options to create a `VaultModel`.
   */
  export interface IOptions {
    /**
     * The API client.
     */
    client: VaultClient;
    /**
     * The version of this frontend package, compared with the server's.
     */
    frontendVersion: string;
    /**
     * Repository poll interval in milliseconds; `0` disables polling.
     */
    refreshInterval?: number;
  }
}

/**
 * Module internals.
 */
namespace Private {
  /**
   * Whether two statuses are equal (they are plain JSON data).
   */
  export function isSameStatus(
    a: ModelVault.ServerStatus,
    b: ModelVault.ServerStatus
  ): boolean {
    return JSONExt.deepEqual(
      a as unknown as ReadonlyJSONValue,
      b as unknown as ReadonlyJSONValue
    );
  }

  /**
   * Classify a successful handshake.
   */
  export function statusFromInfo(
    info: ModelVault.IServerInfo,
    frontendVersion: string
  ): ModelVault.ServerStatus {
    if (info.version !== frontendVersion) {
      return { state: 'version-mismatch', info, frontendVersion };
    }
    return { state: 'ready', info };
  }

  /**
   * Classify a failed handshake.
   *
   * A 404 without a ModelVault error code means the route does not exist:
   * the server extension is not installed or not enabled.
   */
  export function statusFromError(reason: unknown): ModelVault.ServerStatus {
    if (
      reason instanceof VaultResponseError &&
      reason.status === 404 &&
      reason.code === null
    ) {
      return { state: 'not-installed' };
    }
    return {
      state: 'error',
      message: describeError(reason),
      code: reason instanceof VaultResponseError ? reason.code : null
    };
  }
}
