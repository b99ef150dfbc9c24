import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import type { VaultClient } from '../api/client';
import { describeError } from '../api/request';
import type { ModelVault } from '../tokens';
import { mark } from './polling';

/**
 * Browsing state of the Repositories section: repository → Hub repos → files → one file.
 *
 * Each level loads in pages ("load more"); answers for a level the user has left are dropped.
 * Selecting a file loads its scan report (the Verdicts section).
 */
export class BrowserModel implements IDisposable {
  /**
   * Create a browser model.
   */
  constructor(options: BrowserModel.IOptions) {
    this._client = options.client;
  }

  /**
   * Emitted whenever anything below changes.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Emitted when a file is selected (the sidebar reveals the Verdicts section).
   */
  get fileSelected(): ISignal<this, ModelVault.IRepoFile | null> {
    return this._fileSelected;
  }

  /**
   * The open repository key, `null` at the top level.
   */
  get repository(): string | null {
    return this._repository;
  }

  /**
   * The Hub repos of the open repository loaded so far.
   */
  readonly hubRepos: BrowserModel.IPaged<ModelVault.IHubRepo> =
    BrowserModel.emptyPage();

  /**
   * The repo type filter of the Hub repos (`''` for all types).
   */
  get hubType(): string {
    return this._hubType;
  }

  /**
   * The open Hub repo, `null` when none.
   */
  get repo(): BrowserModel.IRepoRef | null {
    return this._repo;
  }

  /**
   * The files of the open Hub repo loaded so far.
   */
  readonly files: BrowserModel.IPaged<ModelVault.IRepoFile> =
    BrowserModel.emptyPage();

  /**
   * The first page's summary of the open Hub repo (licence, decision, total, commit).
   */
  get summary(): ModelVault.IFilePage | null {
    return this._summary;
  }

  /**
   * The selected file, `null` when none.
   */
  get file(): ModelVault.IRepoFile | null {
    return this._file;
  }

  /**
   * The scan report of the selected file, `null` while loading or when not scanned.
   */
  get scan(): ModelVault.IScan | null {
    return this._scan;
  }

  /**
   * Whether the scan report is loading.
   */
  get scanLoading(): boolean {
    return this._scanLoading;
  }

  /**
   * The message of the last failed scan load or rescan.
   */
  get scanError(): string | null {
    return this._scanError;
  }

  /**
   * Whether the model is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Open a repository and load the first page of its Hub repos.
   */
  async openRepository(key: string | null): Promise<void> {
    ++this._hubGeneration;
    ++this._filesGeneration;
    this._repository = key;
    this._repo = null;
    this._summary = null;
    BrowserModel.resetPage(this.hubRepos);
    BrowserModel.resetPage(this.files);
    this._selectFile(null);
    this._emit();
    if (key) {
      await this.loadMoreHubRepos();
    }
  }

  /**
   * Filter the Hub repos by type (`''`, `model`, `dataset`, `space`) and reload them.
   */
  async setHubType(type: string): Promise<void> {
    this._hubType = type;
    await this.openRepository(this._repository);
  }

  /**
   * Load the next page of Hub repos; never rejects (see `hubRepos.error`).
   */
  async loadMoreHubRepos(): Promise<void> {
    const key = this._repository;
    const page = this.hubRepos;
    if (!key || page.loading || (page.loaded && !page.next)) {
      return;
    }
    const generation = ++this._hubGeneration;
    page.loading = true;
    this._emit();
    try {
      const answer = await this._client.listHubRepos(key, {
        type: this._hubType || undefined,
        after: page.next,
        limit: BrowserModel.HUB_PAGE_SIZE
      });
      if (generation !== this._hubGeneration) {
        return;
      }
      page.items = page.items.concat(answer.repos);
      page.next = answer.next;
      page.loaded = true;
      page.error = null;
      mark('modelvault:hub-repos-data');
    } catch (reason) {
      if (generation === this._hubGeneration) {
        page.error = describeError(reason);
      }
    } finally {
      if (generation === this._hubGeneration) {
        page.loading = false;
        this._emit();
      }
    }
  }

  /**
   * Open a Hub repo of the open repository at a revision and load its first page of files.
   */
  async openRepo(
    repoType: string,
    repoId: string,
    revision = 'main'
  ): Promise<void> {
    ++this._filesGeneration;
    this._repo = { repoType, repoId, revision: revision || 'main' };
    this._summary = null;
    BrowserModel.resetPage(this.files);
    this._selectFile(null);
    this._emit();
    await this.loadMoreFiles();
  }

  /**
   * Close the open Hub repo (back to the Hub repo list), or the repository.
   */
  back(): void {
    if (this._repo) {
      this._repo = null;
      this._summary = null;
      ++this._filesGeneration;
      BrowserModel.resetPage(this.files);
      this._selectFile(null);
      this._emit();
    } else if (this._repository) {
      void this.openRepository(null);
    }
  }

  /**
   * Load the next page of files; never rejects (see `files.error`).
   */
  async loadMoreFiles(): Promise<void> {
    const key = this._repository;
    const repo = this._repo;
    const page = this.files;
    if (!key || !repo || page.loading || (page.loaded && !page.next)) {
      return;
    }
    const generation = ++this._filesGeneration;
    page.loading = true;
    this._emit();
    try {
      const answer = await this._client.listFiles(
        key,
        repo.repoType,
        repo.repoId,
        {
          revision: repo.revision,
          after: page.next,
          limit: BrowserModel.FILE_PAGE_SIZE
        }
      );
      if (generation !== this._filesGeneration) {
        return;
      }
      if (!page.loaded) {
        this._summary = answer;
      }
      page.items = page.items.concat(answer.files);
      page.next = answer.next;
      page.loaded = true;
      page.error = null;
      mark('modelvault:files-data');
    } catch (reason) {
      if (generation === this._filesGeneration) {
        page.error = describeError(reason);
      }
    } finally {
      if (generation === this._filesGeneration) {
        page.loading = false;
        this._emit();
      }
    }
  }

  /**
   * Reload the statuses of the files loaded so far (after a waiver, a rescan or a poll).
   */
  async reloadFiles(): Promise<void> {
    const key = this._repository;
    const repo = this._repo;
    if (!key || !repo || this.files.loading) {
      return;
    }
    const generation = ++this._filesGeneration;
    try {
      let items: ModelVault.IRepoFile[] = [];
      let after: string | null = null;
      let summary: ModelVault.IFilePage | null = null;
      const wanted = Math.max(this.files.items.length, 1);
      do {
        const answer: ModelVault.IFilePage = await this._client.listFiles(
          key,
          repo.repoType,
          repo.repoId,
          { revision: repo.revision, after, limit: BrowserModel.FILE_PAGE_SIZE }
        );
        summary = summary ?? answer;
        items = items.concat(answer.files);
        after = answer.next;
      } while (after && items.length < wanted);
      if (generation !== this._filesGeneration) {
        return;
      }
      this._summary = summary;
      this.files.items = items;
      this.files.next = after;
      this.files.error = null;
      const selected = this._file;
      if (selected) {
        this._file = items.find(f => f.path === selected.path) ?? selected;
      }
    } catch (reason) {
      if (generation === this._filesGeneration) {
        this.files.error = describeError(reason);
      }
    }
    this._emit();
  }

  /**
   * Select a file and load its scan report.
   */
  async selectFile(file: ModelVault.IRepoFile | null): Promise<void> {
    this._selectFile(file);
    this._emit();
    if (!file || file.verdict === null) {
      return;
    }
    const generation = this._scanGeneration;
    this._scanLoading = true;
    this._emit();
    try {
      const scan = await this._client.getScan(file.sha256);
      if (generation === this._scanGeneration) {
        this._scan = scan;
        this._scanError = null;
      }
    } catch (reason) {
      if (generation === this._scanGeneration) {
        this._scanError = describeError(reason);
      }
    } finally {
      if (generation === this._scanGeneration) {
        this._scanLoading = false;
        this._emit();
      }
    }
  }

  /**
   * Scan the selected file again (admin), then reload the file statuses.
   *
   * @throws The server's error, for the caller to report.
   */
  async rescan(): Promise<void> {
    const file = this._file;
    if (!file) {
      return;
    }
    const generation = this._scanGeneration;
    this._scanLoading = true;
    this._emit();
    try {
      const scan = await this._client.rescan(file.sha256);
      if (generation === this._scanGeneration) {
        this._scan = scan;
        this._scanError = null;
      }
    } finally {
      if (generation === this._scanGeneration) {
        this._scanLoading = false;
        this._emit();
      }
    }
    await this.reloadFiles();
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

  private _selectFile(file: ModelVault.IRepoFile | null): void {
    ++this._scanGeneration;
    this._file = file;
    this._scan = null;
    this._scanError = null;
    this._scanLoading = false;
    if (!this._isDisposed) {
      this._fileSelected.emit(file);
    }
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _changed = new Signal<this, void>(this);
  private _client: VaultClient;
  private _file: ModelVault.IRepoFile | null = null;
  private _fileSelected = new Signal<this, ModelVault.IRepoFile | null>(this);
  private _filesGeneration = 0;
  private _hubGeneration = 0;
  private _hubType = '';
  private _isDisposed = false;
  private _repo: BrowserModel.IRepoRef | null = null;
  private _repository: string | null = null;
  private _scan: ModelVault.IScan | null = null;
  private _scanError: string | null = null;
  private _scanGeneration = 0;
  private _scanLoading = false;
  private _summary: ModelVault.IFilePage | null = null;
}

/**
 * The static namespace for `BrowserModel`.
 */
export namespace BrowserModel {
  /**
   * Hub repos asked for per page.
   */
  export const HUB_PAGE_SIZE = 1000;

  /**
   * Files asked for per page (the server's maximum).
   */
  export const FILE_PAGE_SIZE = 1000;

  /**
   * Options to create a `BrowserModel`.
   */
  export interface IOptions {
    client: VaultClient;
  }

  /**
   * A Hub repo at a revision.
   */
  export interface IRepoRef {
    repoType: string;
    repoId: string;
    revision: string;
  }

  /**
   * A list loaded page by page.
   */
  export interface IPaged<T> {
    items: ReadonlyArray<T>;
    next: string | null;
    loaded: boolean;
    loading: boolean;
    error: string | null;
  }

  /**
   * An empty paged list.
   */
  export function emptyPage<T>(): IPaged<T> {
    return {
      items: [],
      next: null,
      loaded: false,
      loading: false,
      error: null
    };
  }

  /**
   * Empty a paged list in place.
   */
  export function resetPage<T>(page: IPaged<T>): void {
    Object.assign(page, emptyPage<T>());
  }
}
