import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import type { VaultClient } from '../api/client';
import { describeError } from '../api/request';
import type { ModelVault } from '../tokens';
import { pollFrequency } from './polling';

/**
 * Violations, waivers and the audit trail, reloaded on demand and by a poll.
 *
 * Like the repository list, the poll starts with `startPolling()` and skips
 * ticks while `standby()` is `true` or the browser tab is hidden.
 */
export class ViolationsModel implements IDisposable {
  /**
   * Create the model.
   */
  constructor(options: ViolationsModel.IOptions) {
    this._client = options.client;
    this._standby = options.standby ?? (() => false);
    this._poll = new Poll({
      auto: false,
      factory: () => this._load(),
      frequency: pollFrequency(options.refreshInterval ?? 30 * 1000),
      name: 'modelvault-jlab:ViolationsModel',
      standby: () => this._standby() || 'when-hidden'
    });
  }

  /**
   * Recent blocks and warnings, newest first.
   */
  get events(): ReadonlyArray<ModelVault.IAuditEvent> {
    return this._violations.events;
  }

  /**
   * Blobs whose scan flagged them (malicious, suspicious, error).
   */
  get flaggedBlobs(): ReadonlyArray<ModelVault.IScan> {
    return this._violations.flagged_blobs;
  }

  /**
   * Every waiver, active or not.
   */
  get waivers(): ReadonlyArray<ModelVault.IWaiver> {
    return this._waivers;
  }

  /**
   * The audit events of the last `loadAudit`.
   */
  get auditEvents(): ReadonlyArray<ModelVault.IAuditEvent> {
    return this._audit;
  }

  /**
   * The subject filter of the audit trail.
   */
  get auditSubject(): string {
    return this._auditSubject;
  }

  /**
   * Whether at least one load succeeded.
   */
  get isLoaded(): boolean {
    return this._isLoaded;
  }

  /**
   * Whether a load is in flight.
   */
  get isLoading(): boolean {
    return this._pending !== null;
  }

  /**
   * The message of the last failed load, `null` after a success.
   */
  get error(): string | null {
    return this._error;
  }

  /**
   * The message of the last failed audit load (the audit log is for admins).
   */
  get auditError(): string | null {
    return this._auditError;
  }

  /**
   * Emitted whenever anything above changes.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * Emitted after a waiver is granted or revoked (file statuses may change).
   */
  get waiversChanged(): ISignal<this, void> {
    return this._waiversChanged;
  }

  /**
   * The poll interval in milliseconds; `0` disables polling.
   */
  get refreshInterval(): number {
    const interval = this._poll.frequency.interval;
    return interval === Poll.NEVER ? 0 : interval;
  }
  set refreshInterval(milliseconds: number) {
    if (this.isDisposed) {
      return;
    }
    this._poll.frequency = pollFrequency(milliseconds);
    if (this._isPolling) {
      void this._poll.schedule();
    }
  }

  /**
   * Whether the model is disposed.
   */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Start the poll (idempotent).
   */
  startPolling(): void {
    if (this._isPolling || this.isDisposed) {
      return;
    }
    this._isPolling = true;
    void this._poll.start();
  }

  /**
   * Reload now; never rejects (see `error`).
   */
  async refresh(): Promise<void> {
    try {
      await this._load();
    } catch {
      // Reported through `error`.
    }
  }

  /**
   * Grant a waiver, then reload.
   *
   * @throws The server's error, for the caller to report.
   */
  async grantWaiver(
    request: ModelVault.IWaiverRequest
  ): Promise<ModelVault.IWaiver> {
    const waiver = await this._client.grantWaiver(request);
    this._waiversChanged.emit();
    await this.refresh();
    return waiver;
  }

  /**
   * Revoke a waiver, then reload.
   *
   * @throws The server's error, for the caller to report.
   */
  async revokeWaiver(id: number): Promise<void> {
    await this._client.revokeWaiver(id);
    this._waiversChanged.emit();
    await this.refresh();
  }

  /**
   * Load the audit trail, optionally for subjects starting with `subject`; never rejects.
   */
  async loadAudit(subject = this._auditSubject): Promise<void> {
    this._auditSubject = subject;
    try {
      this._audit = await this._client.queryAudit({ subject, limit: 50 });
      this._auditError = null;
    } catch (reason) {
      this._auditError = describeError(reason);
    }
    this._emit();
  }

  /**
   * Dispose of the model and stop polling.
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _load(): Promise<void> {
    if (this._pending) {
      return this._pending;
    }
    const pending = Promise.all([
      this._client.getViolations(),
      this._client.listWaivers(true)
    ]).then(
      ([violations, waivers]) => {
        this._violations = violations;
        this._waivers = waivers;
        this._isLoaded = true;
        this._error = null;
      },
      (reason: unknown) => {
        this._error = describeError(reason);
        throw reason;
      }
    );
    this._pending = pending.finally(() => {
      this._pending = null;
      this._emit();
    });
    this._emit();
    return this._pending;
  }

  private _emit(): void {
    if (!this.isDisposed) {
      this._changed.emit();
    }
  }

  private _audit: ReadonlyArray<ModelVault.IAuditEvent> = [];
  private _auditError: string | null = null;
  private _auditSubject = '';
  private _changed = new Signal<this, void>(this);
  private _client: VaultClient;
  private _error: string | null = null;
  private _isDisposed = false;
  private _isLoaded = false;
  private _isPolling = false;
  private _pending: Promise<void> | null = null;
  private _poll: Poll;
  private _standby: () => boolean;
  private _violations: ModelVault.IViolations = {
    events: [],
    flagged_blobs: []
  };
  private _waivers: ReadonlyArray<ModelVault.IWaiver> = [];
  private _waiversChanged = new Signal<this, void>(this);
}

/**
 * The static namespace for `ViolationsModel`.
 */
export namespace ViolationsModel {
  /**
   * Options to create a `ViolationsModel`.
   */
  export interface IOptions {
    client: VaultClient;
    /**
     * Poll interval in milliseconds; `0` disables polling. Defaults to 30 s.
     */
    refreshInterval?: number;
    /**
     * Poll ticks are skipped while this returns `true`.
     */
    standby?: () => boolean;
  }
}
