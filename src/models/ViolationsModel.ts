import { ISignal, Signal } from '@lumino/signaling';

import type { VaultClient } from '../api/client';
import { describeError } from '../api/request';
import type { ModelVault } from '../tokens';
import { PolledModel } from './PolledModel';

/**
 * Violations, waivers and the audit trail, reloaded on demand and by a poll.
 *
 * Like the repository list, the poll starts with `startPolling()` and skips
 * ticks while `standby()` is `true` or the browser tab is hidden.
 */
export class ViolationsModel extends PolledModel<
  [ModelVault.IViolations, ModelVault.IWaiver[], ModelVault.IPolicy[]]
> {
  /**
   * Create the model.
   */
  constructor(options: ViolationsModel.IOptions) {
    super({ ...options, name: 'modelvault-jlab:ViolationsModel' });
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
   * The global policies and what each does.
   */
  get policies(): ReadonlyArray<ModelVault.IPolicy> {
    return this._policies;
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
   * The message of the last failed audit load (the audit log is for admins).
   */
  get auditError(): string | null {
    return this._auditError;
  }

  /**
   * Emitted after a waiver is granted or revoked (file statuses may change).
   */
  get waiversChanged(): ISignal<this, void> {
    return this._waiversChanged;
  }

  /**
   * Grant a waiver, then reload.
   *
   * @throws The server's error, for the caller to report.
   */
  async grantWaiver(
    request: ModelVault.IWaiverRequest
  ): Promise<ModelVault.IWaiver> {
    const waiver = await this.client.grantWaiver(request);
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
    await this.client.revokeWaiver(id);
    this._waiversChanged.emit();
    await this.refresh();
  }

  /**
   * Load the audit trail, optionally for subjects starting with `subject`; never rejects.
   */
  async loadAudit(subject = this._auditSubject): Promise<void> {
    this._auditSubject = subject;
    try {
      this._audit = await this.client.queryAudit({ subject, limit: 50 });
      this._auditError = null;
    } catch (reason) {
      this._auditError = describeError(reason);
    }
    this.emitChanged();
  }

  protected fetch(): Promise<
    [ModelVault.IViolations, ModelVault.IWaiver[], ModelVault.IPolicy[]]
  > {
    return Promise.all([
      this.client.getViolations(),
      this.client.listWaivers(true),
      // An older server has no policy summaries: the section just shows none.
      this.client.listPolicies().catch(() => [])
    ]);
  }

  protected apply([violations, waivers, policies]: [
    ModelVault.IViolations,
    ModelVault.IWaiver[],
    ModelVault.IPolicy[]
  ]): void {
    this._violations = violations;
    this._waivers = waivers;
    this._policies = policies;
  }

  private _audit: ReadonlyArray<ModelVault.IAuditEvent> = [];
  private _auditError: string | null = null;
  private _auditSubject = '';
  private _violations: ModelVault.IViolations = {
    events: [],
    flagged_blobs: []
  };
  private _waivers: ReadonlyArray<ModelVault.IWaiver> = [];
  private _policies: ReadonlyArray<ModelVault.IPolicy> = [];
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
