import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatSize } from '../snippets';
import type { ModelVault } from '../tokens';

/**
 * Properties of the `ActivityView` component.
 */
export interface IActivityViewProps {
  operations: ReadonlyArray<ModelVault.IActivity>;
  isLoaded: boolean;
  error: string | null;
  trans: TranslationBundle;
}

/**
 * Operations in progress, each with a progress bar (indeterminate when the
 * size is unknown). Each row is focusable, and its bar is an ARIA
 * `progressbar` whose value text reads "12 MiB of 48 MiB".
 */
export function ActivityView(props: IActivityViewProps): JSX.Element {
  const { trans } = props;
  if (props.error && !props.isLoaded) {
    return (
      <div
        className="jp-ModelVault-Alert jp-ModelVault-Alert-error"
        role="alert"
      >
        {props.error}
      </div>
    );
  }
  if (props.operations.length === 0) {
    return (
      <p className="jp-ModelVault-Placeholder" role="status">
        {props.isLoaded
          ? trans.__('No transfers or exports in progress.')
          : trans.__('Loading…')}
      </p>
    );
  }
  return (
    <ul
      className="jp-ModelVault-EventList jp-ModelVault-ActivityList"
      aria-label={trans.__('Operations in progress')}
      aria-live="polite"
    >
      {props.operations.map(op => (
        <ActivityRow key={op.id} op={op} trans={trans} />
      ))}
    </ul>
  );
}

/**
 * The completed fraction of an operation (0..1), `null` when the total is unknown.
 */
export function activityFraction(op: ModelVault.IActivity): number | null {
  if (!op.total || op.total <= 0) {
    return null;
  }
  return Math.min(1, Math.max(0, op.bytes_done / op.total));
}

function ActivityRow(props: {
  op: ModelVault.IActivity;
  trans: TranslationBundle;
}): JSX.Element {
  const { op, trans } = props;
  const fraction = activityFraction(op);
  const kind =
    op.kind === 'export' ? trans.__('Export') : trans.__('Cold fetch');
  const amount =
    op.total !== null
      ? trans.__('%1 of %2', formatSize(op.bytes_done), formatSize(op.total))
      : formatSize(op.bytes_done);
  const status =
    op.state === 'verifying' ? trans.__('verifying and scanning') : amount;
  const where = op.repository ? `${op.repository}: ` : '';
  return (
    <li
      className="jp-ModelVault-Activity"
      data-kind={op.kind}
      tabIndex={0}
      aria-label={trans.__('%1 %2%3, %4', kind, where, op.subject, status)}
    >
      <div className="jp-ModelVault-Row">
        <span className="jp-ModelVault-Badge">{kind}</span>
        <span className="jp-ModelVault-Row-name" title={where + op.subject}>
          {op.subject}
        </span>
        <span className="jp-ModelVault-Row-size">
          {fraction !== null && op.state !== 'verifying'
            ? `${Math.floor(fraction * 100)}%`
            : status}
        </span>
      </div>
      <div
        className={`jp-ModelVault-Progress${
          fraction === null || op.state === 'verifying'
            ? ' jp-mod-indeterminate'
            : ''
        }`}
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={
          fraction === null ? undefined : Math.floor(fraction * 100)
        }
        aria-valuetext={status}
      >
        <div
          className="jp-ModelVault-Progress-bar"
          style={
            fraction === null ? undefined : { width: `${fraction * 100}%` }
          }
        />
      </div>
      <div className="jp-ModelVault-Row-size">
        {op.repository ? `${op.repository} · ${status}` : status}
      </div>
    </li>
  );
}
