import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

/**
 * Properties of the `StatusBadge` component.
 */
export interface IStatusBadgeProps {
  /**
   * A file status (`clean`, `warning`, `blocked`, `waived`, `not-scanned`), a
   * repo decision (`allowed`) or a scan verdict (`malicious`, `suspicious`, `error`).
   */
  status: string;
  trans: TranslationBundle;
  /**
   * Tooltip, e.g. the policy's reason.
   */
  title?: string;
}

/**
 * A coloured badge for a verdict or policy status; the text says it too (not colour alone).
 */
export function StatusBadge(props: IStatusBadgeProps): JSX.Element {
  const { status, trans } = props;
  const labels: Record<string, string> = {
    clean: trans.__('clean'),
    allowed: trans.__('allowed'),
    warning: trans.__('warning'),
    suspicious: trans.__('suspicious'),
    blocked: trans.__('blocked'),
    malicious: trans.__('malicious'),
    error: trans.__('scan error'),
    waived: trans.__('waived'),
    'not-scanned': trans.__('not yet scanned')
  };
  const tone =
    {
      clean: 'ok',
      allowed: 'ok',
      warning: 'warn',
      suspicious: 'warn',
      blocked: 'bad',
      malicious: 'bad',
      error: 'bad',
      waived: 'info'
    }[status] ?? 'none';
  return (
    <span
      className={`jp-ModelVault-Badge jp-ModelVault-StatusBadge jp-mod-${tone}`}
      data-status={status}
      title={props.title}
    >
      {labels[status] ?? status}
    </span>
  );
}
