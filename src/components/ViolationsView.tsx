import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatTime } from '../snippets';
import type { ModelVault } from '../tokens';
import { Alert } from './RepositoryBrowser';
import { StatusBadge } from './StatusBadge';
import { WaiverForm } from './WaiverForm';

/**
 * Properties of the `ViolationsView` component.
 */
export interface IViolationsViewProps {
  events: ReadonlyArray<ModelVault.IAuditEvent>;
  flaggedBlobs: ReadonlyArray<ModelVault.IScan>;
  waivers: ReadonlyArray<ModelVault.IWaiver>;
  /**
   * Global policies with a summary of their effect (optional: older servers).
   */
  policies?: ReadonlyArray<ModelVault.IPolicy>;
  auditEvents: ReadonlyArray<ModelVault.IAuditEvent>;
  auditSubject: string;
  auditError: string | null;
  isLoaded: boolean;
  isLoading: boolean;
  error: string | null;
  isAdmin: boolean;
  /**
   * Grant a waiver; rejects with the server's error.
   */
  onGrant: (request: ModelVault.IWaiverRequest) => Promise<void>;
  onRevoke: (id: number) => void;
  onAudit: (subject: string) => void;
  trans: TranslationBundle;
}

/**
 * The "Violations" section: recent blocks and warnings, flagged blobs, waivers
 * (grant, revoke) and the audit trail.
 */
export function ViolationsView(props: IViolationsViewProps): JSX.Element {
  const { trans } = props;
  const [waiving, setWaiving] = React.useState<string | null>(null);
  const [subject, setSubject] = React.useState(props.auditSubject);
  const now = Date.now() / 1000;
  return (
    <div className="jp-ModelVault-Violations" aria-busy={props.isLoading}>
      {props.error && <Alert message={props.error} />}
      {!props.isLoaded && props.isLoading && (
        <p className="jp-ModelVault-Placeholder">{trans.__('Loading…')}</p>
      )}
      {props.policies && props.policies.length > 0 && (
        <PolicyList policies={props.policies} trans={trans} />
      )}
      <h3 className="jp-ModelVault-GroupTitle">
        {trans.__('Blocks and warnings')}
      </h3>
      {props.isLoaded && props.events.length === 0 && (
        <p className="jp-ModelVault-Placeholder">
          {trans.__('No blocked or warned downloads.')}
        </p>
      )}
      <ul
        className="jp-ModelVault-EventList"
        aria-label={trans.__('Policy events')}
      >
        {props.events.map(event => {
          const key = `event-${event.id}`;
          const repoId = Private.repoIdOf(event.subject);
          return (
            <li key={key} data-action={event.action}>
              <div className="jp-ModelVault-Row">
                <StatusBadge
                  status={
                    event.action === 'policy.block' ? 'blocked' : 'warning'
                  }
                  trans={trans}
                />
                <span
                  className="jp-ModelVault-Row-name jp-ModelVault-Subject"
                  title={event.subject ?? ''}
                >
                  {event.subject}
                </span>
              </div>
              <div className="jp-ModelVault-Hint">
                {event.detail.policy}: {event.detail.reason} — {event.actor},{' '}
                {formatTime(event.ts)}
              </div>
              {props.isAdmin && repoId && event.detail.policy && (
                <WaiveToggle
                  id={key}
                  waiving={waiving}
                  setWaiving={setWaiving}
                  policy={event.detail.policy}
                  target={`${repoId.repoType}s/${repoId.repoId}`}
                  onGrant={(justification, seconds) =>
                    props.onGrant({
                      policy: event.detail.policy as string,
                      repo_id: repoId.repoId,
                      repo_type: repoId.repoType,
                      justification,
                      expires_in_seconds: seconds
                    })
                  }
                  trans={trans}
                />
              )}
            </li>
          );
        })}
      </ul>
      <h3 className="jp-ModelVault-GroupTitle">{trans.__('Flagged files')}</h3>
      {props.isLoaded && props.flaggedBlobs.length === 0 && (
        <p className="jp-ModelVault-Placeholder">
          {trans.__('No flagged files.')}
        </p>
      )}
      <ul
        className="jp-ModelVault-EventList"
        aria-label={trans.__('Flagged files')}
      >
        {props.flaggedBlobs.map(blob => {
          const key = `blob-${blob.sha256}`;
          const first = blob.report.findings?.[0];
          return (
            <li key={key} data-sha256={blob.sha256}>
              <div className="jp-ModelVault-Row">
                <StatusBadge status={blob.verdict} trans={trans} />
                <code className="jp-ModelVault-Row-name" title={blob.sha256}>
                  {blob.sha256.slice(0, 16)}…
                </code>
              </div>
              {first && (
                <div className="jp-ModelVault-Hint">
                  {first.rule}: {first.message}
                </div>
              )}
              {props.isAdmin && (
                <WaiveToggle
                  id={key}
                  waiving={waiving}
                  setWaiving={setWaiving}
                  policy="malicious-models"
                  target={blob.sha256.slice(0, 16)}
                  onGrant={(justification, seconds) =>
                    props.onGrant({
                      policy: 'malicious-models',
                      sha256: blob.sha256,
                      justification,
                      expires_in_seconds: seconds
                    })
                  }
                  trans={trans}
                />
              )}
            </li>
          );
        })}
      </ul>
      <h3 className="jp-ModelVault-GroupTitle">{trans.__('Waivers')}</h3>
      {props.isLoaded && props.waivers.length === 0 && (
        <p className="jp-ModelVault-Placeholder">{trans.__('No waivers.')}</p>
      )}
      <ul className="jp-ModelVault-EventList" aria-label={trans.__('Waivers')}>
        {props.waivers.map(w => {
          const active = w.revoked_at === null && w.expires_at > now;
          const state =
            w.revoked_at !== null
              ? trans.__('revoked')
              : active
                ? trans.__('active')
                : trans.__('expired');
          return (
            <li key={w.id} data-waiver={w.id} data-active={active}>
              <div className="jp-ModelVault-Row">
                <span className="jp-ModelVault-Badge">{state}</span>
                <span className="jp-ModelVault-Row-name">
                  {w.policy} ·{' '}
                  {w.sha256
                    ? w.sha256.slice(0, 16) + '…'
                    : `${w.repo_type ?? 'model'}s/${w.repo_id}${w.commit ? '@' + w.commit.slice(0, 8) : ''}`}
                </span>
                {props.isAdmin && active && (
                  <button
                    type="button"
                    className="jp-mod-styled"
                    aria-label={trans.__('Revoke waiver %1', w.id)}
                    onClick={() => props.onRevoke(w.id)}
                  >
                    {trans.__('Revoke')}
                  </button>
                )}
              </div>
              <div className="jp-ModelVault-Hint">
                “{w.justification}” — {w.created_by},{' '}
                <time className="jp-ModelVault-Time">
                  {trans.__('expires %1', formatTime(w.expires_at))}
                </time>
              </div>
            </li>
          );
        })}
      </ul>
      <h3 className="jp-ModelVault-GroupTitle">{trans.__('Audit trail')}</h3>
      <form
        className="jp-ModelVault-Filters"
        onSubmit={event => {
          event.preventDefault();
          props.onAudit(subject.trim());
        }}
      >
        <input
          type="search"
          className="jp-ModelVault-Search jp-mod-styled"
          placeholder={trans.__('Subject starts with…')}
          aria-label={trans.__('Audit subject')}
          value={subject}
          onChange={event => setSubject(event.currentTarget.value)}
        />
        <button type="submit" className="jp-mod-styled">
          {trans.__('Show')}
        </button>
      </form>
      {props.auditError && <Alert message={props.auditError} />}
      <ul
        className="jp-ModelVault-EventList"
        aria-label={trans.__('Audit trail')}
      >
        {props.auditEvents.map(e => (
          <li key={e.id}>
            <div className="jp-ModelVault-Row">
              <code>{e.action}</code>
              <span className="jp-ModelVault-Row-name" title={e.subject ?? ''}>
                {e.subject}
              </span>
            </div>
            <div className="jp-ModelVault-Hint">
              {e.actor},{' '}
              <time className="jp-ModelVault-Time">{formatTime(e.ts)}</time>
            </div>
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * A "Waive…" button that opens an inline waiver form (one open form at a time).
 */
function WaiveToggle(props: {
  id: string;
  waiving: string | null;
  setWaiving: (id: string | null) => void;
  policy: string;
  target: string;
  onGrant: (justification: string, seconds: number) => Promise<void>;
  trans: TranslationBundle;
}): JSX.Element {
  if (props.waiving !== props.id) {
    return (
      <button
        type="button"
        className="jp-mod-styled jp-ModelVault-WaiveButton"
        onClick={() => props.setWaiving(props.id)}
      >
        {props.trans.__('Waive…')}
      </button>
    );
  }
  return (
    <WaiverForm
      policy={props.policy}
      target={props.target}
      trans={props.trans}
      onCancel={() => props.setWaiving(null)}
      onGrant={async (justification, seconds) => {
        await props.onGrant(justification, seconds);
        props.setWaiving(null);
      }}
    />
  );
}

/**
 * Module internals.
 */
namespace Private {
  /**
   * The repo of an audit subject such as `models/org/name@<commit>/path`.
   */
  export function repoIdOf(
    subject: string | null
  ): { repoType: ModelVault.IHubRepo['repo_type']; repoId: string } | null {
    const match = /^(model|dataset|space)s\/([^/@]+\/[^/@]+)@/.exec(
      subject ?? ''
    );
    return match
      ? {
          repoType: match[1] as ModelVault.IHubRepo['repo_type'],
          repoId: match[2]
        }
      : null;
  }
}

/**
 * The global policies: a policy's action bounds every parameter, so the summary
 * says what it really does (an `audit` policy never blocks).
 */
function PolicyList(props: {
  policies: ReadonlyArray<ModelVault.IPolicy>;
  trans: TranslationBundle;
}): JSX.Element {
  const { trans } = props;
  const status = { block: 'blocked', warn: 'warning', audit: 'waived' };
  return (
    <>
      <h3 className="jp-ModelVault-GroupTitle">{trans.__('Policies')}</h3>
      <ul className="jp-ModelVault-EventList" aria-label={trans.__('Policies')}>
        {props.policies.map(p => (
          <li key={p.name} data-policy={p.name}>
            <div className="jp-ModelVault-Row">
              <span
                className={`jp-ModelVault-Badge jp-ModelVault-StatusBadge jp-mod-${
                  p.action === 'block'
                    ? 'bad'
                    : p.action === 'warn'
                      ? 'warn'
                      : 'info'
                }`}
                data-status={p.action ? status[p.action] : undefined}
              >
                {p.action}
              </span>
              <span className="jp-ModelVault-Row-name">{p.name}</span>
            </div>
            <div className="jp-ModelVault-Hint">{p.summary}</div>
          </li>
        ))}
      </ul>
    </>
  );
}
