import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatSize, formatTime } from '../snippets';
import type { ModelVault } from '../tokens';
import { Alert, ViolationReasons } from './RepositoryBrowser';
import { StatusBadge } from './StatusBadge';
import { WaiverForm } from './WaiverForm';

/**
 * Properties of the `VerdictView` component.
 */
export interface IVerdictViewProps {
  file: ModelVault.IRepoFile | null;
  scan: ModelVault.IScan | null;
  loading: boolean;
  error: string | null;
  isAdmin: boolean;
  onRescan: () => void;
  /**
   * Grant a waiver of `policy` for the file's content; rejects with the server's error.
   */
  onGrantWaiver: (
    policy: string,
    justification: string,
    expiresInSeconds: number
  ) => Promise<void>;
  trans: TranslationBundle;
}

/**
 * The "Verdicts" section: the selected file's status, policy reasons, scan
 * findings, scan time and scanner version; Rescan and Waive for admins.
 */
export function VerdictView(props: IVerdictViewProps): JSX.Element {
  const { file, scan, trans } = props;
  const [waiving, setWaiving] = React.useState<string | null>(null);
  React.useEffect(() => setWaiving(null), [file?.sha256, file?.path]);
  if (!file) {
    return (
      <p className="jp-ModelVault-Placeholder">
        {trans.__('Select a file in Repositories to see its verdict.')}
      </p>
    );
  }
  const findings = scan?.report?.findings ?? [];
  const blocking = file.violations.filter(v => v.action === 'block');
  return (
    <div className="jp-ModelVault-Verdict" aria-busy={props.loading}>
      <div className="jp-ModelVault-Verdict-header">
        <span className="jp-ModelVault-Verdict-path" title={file.path}>
          {file.path}
        </span>
        <StatusBadge status={file.status} trans={trans} />
      </div>
      <dl className="jp-ModelVault-Facts">
        <dt>{trans.__('Size')}</dt>
        <dd>{formatSize(file.size)}</dd>
        <dt>{trans.__('SHA-256')}</dt>
        <dd className="jp-ModelVault-Facts-sha">
          <code title={file.sha256}>{file.sha256}</code>
        </dd>
        <dt>{trans.__('Verdict')}</dt>
        <dd>{file.verdict ?? trans.__('not yet scanned')}</dd>
        {scan && (
          <>
            <dt>{trans.__('Scanned')}</dt>
            <dd className="jp-ModelVault-Facts-time">
              {formatTime(scan.scanned_at)}
            </dd>
            <dt>{trans.__('Scanner')}</dt>
            <dd>{scan.scanner_version}</dd>
            {scan.report.format && (
              <>
                <dt>{trans.__('Format')}</dt>
                <dd>{String(scan.report.format)}</dd>
              </>
            )}
          </>
        )}
      </dl>
      <ViolationReasons
        violations={file.violations}
        waived={file.waived}
        trans={trans}
      />
      {props.error && <Alert message={props.error} />}
      {props.loading && (
        <p className="jp-ModelVault-Placeholder">{trans.__('Loading…')}</p>
      )}
      {findings.length > 0 && (
        <section className="jp-ModelVault-Findings">
          <h4 className="jp-ModelVault-GroupTitle">
            {trans.__('Findings (%1)', findings.length)}
          </h4>
          <ul aria-label={trans.__('Findings')}>
            {findings.map((f, i) => (
              <li key={i} data-severity={f.severity}>
                <div className="jp-ModelVault-Row">
                  <StatusBadge status={f.severity} trans={trans} />
                  <code className="jp-ModelVault-Row-name" title={f.rule}>
                    {f.rule}
                  </code>
                </div>
                <div>{f.message}</div>
                {(f.global || f.inner_path || typeof f.offset === 'number') && (
                  <div className="jp-ModelVault-Hint">
                    {[
                      f.global,
                      f.inner_path,
                      typeof f.offset === 'number'
                        ? trans.__('offset %1', f.offset)
                        : null,
                      f.format
                    ]
                      .filter(Boolean)
                      .join(' · ')}
                  </div>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
      {scan && findings.length === 0 && (
        <p className="jp-ModelVault-Placeholder">{trans.__('No findings.')}</p>
      )}
      {props.isAdmin && (
        <div className="jp-ModelVault-Actions">
          {file.verdict !== null && (
            <button
              type="button"
              className="jp-mod-styled"
              disabled={props.loading}
              onClick={props.onRescan}
            >
              {trans.__('Rescan')}
            </button>
          )}
          {blocking.length > 0 && !waiving && (
            <button
              type="button"
              className="jp-mod-styled jp-mod-warn"
              onClick={() => setWaiving(blocking[0].policy)}
            >
              {trans.__('Grant waiver…')}
            </button>
          )}
        </div>
      )}
      {waiving && (
        <WaiverForm
          policy={waiving}
          target={file.path}
          trans={trans}
          onCancel={() => setWaiving(null)}
          onGrant={async (justification, seconds) => {
            await props.onGrantWaiver(waiving, justification, seconds);
            setWaiving(null);
          }}
        />
      )}
    </div>
  );
}
