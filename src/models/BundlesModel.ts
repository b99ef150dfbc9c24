import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import type { VaultClient } from '../api/client';
import { describeError } from '../api/request';
import type { ModelVault } from '../tokens';

/**
 * State of the Bundles section beyond the list: the "Create bundle" wizard,
 * the opened bundle's detail, its verification report and the ordered
 * environments it is promoted through.
 */
export class BundlesModel implements IDisposable, ModelVault.IBundleSource {
  /**
   * Create the model.
   */
  constructor(options: BundlesModel.IOptions) {
    this._client = options.client;
    this._onBundlesChanged = options.onBundlesChanged ?? (() => undefined);
  }

  /**
   * The API client.
   */
  get client(): VaultClient {
    return this._client;
  }

  /**
   * The ordered promotion environments (from `GET bundles`).
   */
  get environments(): ReadonlyArray<string> {
    return this._environments;
  }

  /**
   * Whether the wizard is shown.
   */
  get isWizardOpen(): boolean {
    return this._isWizardOpen;
  }
  set isWizardOpen(value: boolean) {
    if (value === this._isWizardOpen) {
      return;
    }
    this._isWizardOpen = value;
    if (value) {
      this._detail = null;
      this._verifyReport = null;
    }
    this._emit();
  }

  /**
   * The opened bundle, if any.
   */
  get detail(): ModelVault.IBundleDetail | null {
    return this._detail;
  }

  /**
   * Whether the opened bundle is loading.
   */
  get isLoading(): boolean {
    return this._isLoading;
  }

  /**
   * The message of the last failed detail load.
   */
  get error(): string | null {
    return this._error;
  }

  /**
   * The last verification report of the opened bundle.
   */
  get verifyReport(): ModelVault.IBundleVerifyReport | null {
    return this._verifyReport;
  }

  /**
   * The action in progress (`verify`, `promote`, `create`...), if any.
   */
  get busy(): string | null {
    return this._busy;
  }

  /**
   * The environment the opened bundle would be promoted to next, if any.
   */
  get nextEnvironment(): string | null {
    return BundlesModel.nextEnvironment(
      this._environments,
      this._detail?.environment ?? null
    );
  }

  /**
   * Emitted whenever anything above changes.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Whether the model is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Load the environments; never rejects.
   */
  async loadEnvironments(): Promise<void> {
    try {
      const list = await this._client.getBundleList();
      this._environments = list?.environments ?? [];
      this._emit();
    } catch {
      // The list itself reports errors (SetMeUpModel.bundlesError).
    }
  }

  /**
   * Open a bundle's detail; never rejects (see `error`).
   */
  async open(name: string, version: string): Promise<void> {
    this._isWizardOpen = false;
    this._isLoading = true;
    this._error = null;
    this._verifyReport = null;
    this._detail = null;
    this._emit();
    try {
      const [detail] = await Promise.all([
        this._client.getBundle(name, version),
        this._environments.length ? Promise.resolve() : this.loadEnvironments()
      ]);
      this._detail = detail;
    } catch (error) {
      this._error = describeError(error);
    } finally {
      this._isLoading = false;
      this._emit();
    }
  }

  /**
   * Close the detail view.
   */
  close(): void {
    this._detail = null;
    this._error = null;
    this._verifyReport = null;
    this._emit();
  }

  /**
   * Verify the opened bundle.
   *
   * @throws The server's error, for the caller to report.
   */
  async verify(): Promise<ModelVault.IBundleVerifyReport> {
    const detail = this._requireDetail();
    return this._run('verify', async () => {
      this._verifyReport = await this._client.verifyBundle(
        detail.name,
        detail.version
      );
      return this._verifyReport;
    });
  }

  /**
   * Promote the opened bundle to the next environment (admin).
   *
   * @throws The server's error, for the caller to report.
   */
  async promote(): Promise<ModelVault.IBundleDetail> {
    const detail = this._requireDetail();
    const to = this.nextEnvironment;
    if (!to) {
      throw new Error('The bundle is already in the last environment.');
    }
    return this._run('promote', async () => {
      this._detail = await this._client.promoteBundle(
        detail.name,
        detail.version,
        to
      );
      this._onBundlesChanged();
      return this._detail;
    });
  }

  /**
   * Create a bundle; on success it is opened and the list refreshed.
   *
   * @throws The server's error; a policy refusal carries the violations
   * (`bundleViolations(error)`).
   */
  async create(
    request: ModelVault.IBundleCreateRequest
  ): Promise<ModelVault.IBundleDetail> {
    return this._run('create', async () => {
      const created = await this._client.createBundle(request);
      this._isWizardOpen = false;
      this._detail = created;
      this._verifyReport = null;
      this._error = null;
      this._onBundlesChanged();
      return created;
    });
  }

  /**
   * One page of the Hub repos of a repository, for the wizard.
   */
  listHubRepos(
    key: string,
    after: string | null = null
  ): Promise<ModelVault.IHubRepoPage> {
    return this._client.listHubRepos(key, {
      after,
      limit: BundlesModel.HUB_PAGE_SIZE
    });
  }

  /**
   * The projects of a PyPI repository, for the wizard.
   */
  listPackageProjects(key: string): Promise<string[]> {
    return this._client.listPackageProjects(key);
  }

  /**
   * The stored files of a project (what a bundle can pin), for the wizard.
   */
  listPackageFiles(
    key: string,
    project: string
  ): Promise<ModelVault.IPackageFile[]> {
    return this._client.listPackageFiles(key, project);
  }

  /**
   * The vault's generic files, for the wizard.
   */
  listGenericFiles(): Promise<ModelVault.IGenericFile[]> {
    return this._client.listGenericFiles();
  }

  /**
   * Download the opened bundle's archive or AI-BOM as a blob.
   */
  async download(
    what: 'archive' | 'bom'
  ): Promise<{ blob: Blob; filename: string }> {
    const detail = this._requireDetail();
    return this._run(what, async () => {
      const blob = await this._client.downloadBundle(
        detail.name,
        detail.version,
        what
      );
      const base = `${detail.name}-${detail.version}`;
      return {
        blob,
        filename:
          what === 'archive' ? `${base}.mvbundle.tar` : `${base}.cdx.json`
      };
    });
  }

  /**
   * Dispose of the model.
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private _requireDetail(): ModelVault.IBundleDetail {
    if (!this._detail) {
      throw new Error('No bundle is open.');
    }
    return this._detail;
  }

  private async _run<T>(action: string, work: () => Promise<T>): Promise<T> {
    this._busy = action;
    this._emit();
    try {
      return await work();
    } finally {
      this._busy = null;
      this._emit();
    }
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _busy: string | null = null;
  private _changed = new Signal<this, void>(this);
  private _client: VaultClient;
  private _detail: ModelVault.IBundleDetail | null = null;
  private _environments: string[] = [];
  private _error: string | null = null;
  private _isDisposed = false;
  private _isLoading = false;
  private _isWizardOpen = false;
  private _onBundlesChanged: () => void;
  private _verifyReport: ModelVault.IBundleVerifyReport | null = null;
}

/**
 * The static namespace for `BundlesModel`.
 */
export namespace BundlesModel {
  /**
   * Hub repos per page in the wizard ("Load more" fetches the next page).
   */
  export const HUB_PAGE_SIZE = 200;

  /**
   * Options to create a `BundlesModel`.
   */
  export interface IOptions {
    client: VaultClient;
    /**
     * Called after a bundle was created or promoted (to reload the list).
     */
    onBundlesChanged?: () => void;
  }

  /**
   * The environment after `current` (the first one if not promoted yet), or `null`.
   */
  export function nextEnvironment(
    environments: ReadonlyArray<string>,
    current: string | null
  ): string | null {
    if (!current) {
      return environments[0] ?? null;
    }
    const index = environments.indexOf(current);
    return index >= 0 && index + 1 < environments.length
      ? environments[index + 1]
      : null;
  }
}
