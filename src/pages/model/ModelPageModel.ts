import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { VaultClient } from '../../api/client';
import { requestAPI, VaultResponseError } from '../../api/request';
import { mark } from '../../models/polling';
import type { ModelVault } from '../../tokens';
import { fileRows, IFileRow, IHubOverview, ILineage } from './shaping';

/**
 * What a model page shows: a Hub repo (model, dataset) or a PyPI project.
 */
export interface IModelPageArgs {
  /**
   * The vault repository key.
   */
  repository: string;
  /**
   * `model`, `dataset` or `space` for a Hub repo; `package` for a PyPI project.
   */
  repoType: string;
  /**
   * `namespace/name` of a Hub repo, or a PyPI project name.
   */
  repoId: string;
}

/**
 * Files requested per page: 10 round trips for a 10,000-file repo.
 */
const FILE_PAGE = 1000;

/**
 * Performance marks of the files table (read by the UI tests).
 */
export const PerfMarks = {
  dataArrived: 'modelvault:model-page:files-data',
  painted: 'modelvault:model-page:files-painted'
};

/**
 * State of a model page: overview, every file, lineage; loads them and emits
 * `changed` as parts arrive. Errors are kept per part, so that a refused
 * lineage (administrators only) leaves the rest of the page working.
 */
export class ModelPageModel {
  constructor(options: ModelPageModel.IOptions) {
    this.args = options.args;
    this._client = options.client;
  }

  readonly args: IModelPageArgs;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isPackage(): boolean {
    return this.args.repoType === 'package';
  }

  /**
   * The revision shown (`null`: the default branch).
   */
  get revision(): string | null {
    return this._revision;
  }

  overview: IHubOverview | null = null;
  firstPage: ModelVault.IFilePage | null = null;
  rows: IFileRow[] = [];
  packageFiles: ModelVault.IPackageFile[] = [];
  packageLicense: string | null = null;
  lineage: ILineage | null = null;
  waivers: ModelVault.IWaiver[] = [];
  loading = false;
  errors: { overview?: string; files?: string; lineage?: string } = {};

  /**
   * Load (or reload) everything at `revision`.
   */
  async load(revision: string | null = this._revision): Promise<void> {
    this._revision = revision;
    const generation = ++this._generation;
    this.loading = true;
    this.errors = {};
    this._changed.emit();
    const parts = this.isPackage
      ? [this._loadPackage(generation)]
      : [
          this._loadOverview(generation),
          this._loadFiles(generation),
          this._loadLineage(generation),
          this._loadWaivers(generation)
        ];
    await Promise.all(parts);
    if (generation === this._generation) {
      this.loading = false;
      this._changed.emit();
    }
  }

  /**
   * Grant a waiver of `policy` for a file's content (admin).
   */
  async waive(
    file: ModelVault.IRepoFile,
    policy: string,
    justification: string,
    expiresInSeconds: number
  ): Promise<void> {
    await this._client.grantWaiver({
      policy,
      sha256: file.sha256,
      justification,
      expires_in_seconds: expiresInSeconds
    });
    await this.load();
  }

  /**
   * The active waivers that lift a violation of this file.
   */
  waiversOf(file: ModelVault.IRepoFile): ModelVault.IWaiver[] {
    const policies = new Set(file.waived.map(v => v.policy));
    return this.waivers.filter(
      w =>
        policies.has(w.policy) &&
        (w.sha256 === file.sha256 ||
          (w.repo_id === this.args.repoId && !w.sha256))
    );
  }

  async revokeWaiver(id: number): Promise<void> {
    await this._client.revokeWaiver(id);
    await this.load();
  }

  private async _loadOverview(generation: number): Promise<void> {
    try {
      const overview = await requestAPI<IHubOverview>(
        `${this._hubPath()}/overview`,
        { method: 'GET' },
        this._client.serverSettings,
        this._revision ? { revision: this._revision } : {}
      );
      if (generation === this._generation) {
        this.overview = overview;
      }
    } catch (error) {
      this._fail(generation, 'overview', error);
    }
    this._emit(generation);
  }

  private async _loadFiles(generation: number): Promise<void> {
    const files: ModelVault.IRepoFile[] = [];
    let after: string | null = null;
    try {
      do {
        const page: ModelVault.IFilePage = await this._client.listFiles(
          this.args.repository,
          this.args.repoType,
          this.args.repoId,
          { revision: this._revision ?? undefined, after, limit: FILE_PAGE }
        );
        if (generation !== this._generation) {
          return;
        }
        if (after === null) {
          this.firstPage = page;
        }
        files.push(...page.files);
        after = page.next ?? null;
      } while (after);
      mark(PerfMarks.dataArrived);
      this.rows = fileRows(files);
    } catch (error) {
      this._fail(generation, 'files', error);
    }
    this._emit(generation);
  }

  private async _loadLineage(generation: number): Promise<void> {
    try {
      const lineage = await requestAPI<ILineage>(
        'lineage',
        { method: 'GET' },
        this._client.serverSettings,
        { subject: `${this.args.repoType}s/${this.args.repoId}` }
      );
      if (generation === this._generation) {
        this.lineage = lineage;
      }
    } catch (error) {
      this._fail(generation, 'lineage', error);
    }
    this._emit(generation);
  }

  private async _loadWaivers(generation: number): Promise<void> {
    try {
      const waivers = await this._client.listWaivers(false);
      if (generation === this._generation) {
        this.waivers = waivers;
      }
    } catch {
      // Only administrators may list waivers; the page then offers no revocation.
    }
  }

  private async _loadPackage(generation: number): Promise<void> {
    try {
      const files = await this._client.listPackageFiles(
        this.args.repository,
        this.args.repoId
      );
      if (generation !== this._generation) {
        return;
      }
      this.packageFiles = files;
      this.packageLicense = await this._packageLicense(files);
    } catch (error) {
      this._fail(generation, 'files', error);
    }
    this._emit(generation);
  }

  /**
   * The licence in the core metadata (PEP 658) of the newest file, if the
   * repository serves it.
   */
  private async _packageLicense(
    files: ModelVault.IPackageFile[]
  ): Promise<string | null> {
    const newest = files[files.length - 1];
    if (!newest) {
      return null;
    }
    const settings = this._client.serverSettings;
    const url = `${settings.baseUrl}modelvault/pypi/${encodeURIComponent(
      this.args.repository
    )}/files/${newest.sha256}/${encodeURIComponent(newest.filename)}.metadata`;
    try {
      const response = await ServerConnection.makeRequest(url, {}, settings);
      if (!response.ok) {
        return null;
      }
      return licenseOfMetadata(await response.text());
    } catch {
      return null;
    }
  }

  private _hubPath(): string {
    const [namespace, name] = this.args.repoId.split('/', 2);
    return [
      'repositories',
      encodeURIComponent(this.args.repository),
      'hub',
      `${this.args.repoType}s`,
      encodeURIComponent(namespace),
      encodeURIComponent(name ?? '')
    ].join('/');
  }

  private _fail(
    generation: number,
    part: 'overview' | 'files' | 'lineage',
    error: unknown
  ): void {
    if (generation !== this._generation) {
      return;
    }
    const forbidden =
      error instanceof VaultResponseError && error.status === 403;
    this.errors = {
      ...this.errors,
      [part]:
        part === 'lineage' && forbidden
          ? 'Lineage is shown to administrators only.'
          : error instanceof Error
            ? error.message
            : String(error)
    };
  }

  private _emit(generation: number): void {
    if (generation === this._generation) {
      this._changed.emit();
    }
  }

  private _client: VaultClient;
  private _revision: string | null = null;
  private _generation = 0;
  private _changed = new Signal<this, void>(this);
}

export namespace ModelPageModel {
  export interface IOptions {
    args: IModelPageArgs;
    client: VaultClient;
  }
}

/**
 * The licence of Python core metadata (`License-Expression`, else `License`,
 * else the `License ::` classifiers).
 */
export function licenseOfMetadata(metadata: string): string | null {
  const header = metadata.split(/\r?\n\r?\n/, 1)[0];
  const fields = header.split(/\r?\n/);
  const value = (name: string) =>
    fields
      .filter(line => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
      .map(line => line.slice(name.length + 1).trim());
  const expression = value('License-Expression')[0];
  if (expression) {
    return expression;
  }
  const license = value('License')[0];
  if (license && license.toUpperCase() !== 'UNKNOWN') {
    return license.split('\n')[0].slice(0, 200);
  }
  const classifiers = value('Classifier')
    .filter(c => c.startsWith('License ::'))
    .map(c => c.split('::').pop()!.trim());
  return classifiers.length ? classifiers.join(', ') : null;
}
