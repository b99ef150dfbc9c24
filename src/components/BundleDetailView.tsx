import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { ModelVault } from '../tokens';
import { PromotionPipeline } from './PromotionPipeline';

/**
 * Properties of the `BundleDetailView` component.
 */
export interface IBundleDetailViewProps {
  detail: ModelVault.IBundleDetail | null;
  isLoading: boolean;
  error: string | null;
  verifyReport: ModelVault.IBundleVerifyReport | null;
  busy: string | null;
  isAdmin: boolean;
  nextEnvironment: string | null;
  /**
   * The ordered promotion environments, for the pipeline picture.
   */
  environments?: ReadonlyArray<string>;
  onBack: () => void;
  onVerify: () => void;
  onPromote: () => void;
  onDownload: (what: 'archive' | 'bom') => void;
  trans: TranslationBundle;
}

/**
 * A bundle's contents (components with commit, files and sha256), signature
 * key id and promotions, with Verify, Promote, Export and AI-BOM actions.
 */
export function BundleDetailView(props: IBundleDetailViewProps): JSX.Element {
  const { detail, trans } = props;
  const back = (
    <button
      type="button"
      className="jp-ModelVault-LinkButton jp-ModelVault-BundleBack"
      onClick={props.onBack}
    >
      {trans.__('← All bundles')}
    </button>
  );
  if (props.error) {
    return (
      <div className="jp-ModelVault-BundleDetail">
        {back}
        <div
          className="jp-ModelVault-Alert jp-ModelVault-Alert-error"
          role="alert"
        >
          {props.error}
        </div>
      </div>
    );
  }
  if (props.isLoading || !detail) {
    return (
      <div className="jp-ModelVault-BundleDetail">
        {back}
        <p className="jp-ModelVault-Placeholder">{trans.__('Loading…')}</p>
      </div>
    );
  }
  const components = detail.manifest?.components ?? [];
  const promotions = detail.promotions ?? [];
  const report = props.verifyReport;
  return (
    <section
      className="jp-ModelVault-BundleDetail"
      aria-label={trans.__('Bundle %1 %2', detail.name, detail.version)}
      data-bundle={`${detail.name}@${detail.version}`}
    >
      {back}
      <h3 className="jp-ModelVault-GroupTitle">
        {detail.name} <strong>{detail.version}</strong>{' '}
        <span className="jp-ModelVault-Badge jp-ModelVault-BundleEnvironment">
          {detail.environment ?? trans.__('not promoted')}
        </span>
      </h3>
      <div className="jp-ModelVault-Hint jp-ModelVault-BundleMeta">
        <div>
          <span className="jp-ModelVault-Label">{trans.__('Digest')}</span>{' '}
          <code className="jp-ModelVault-Digest" title={detail.digest}>
            {detail.digest?.slice(0, 19)}
          </code>
        </div>
        <div>
          <span className="jp-ModelVault-Label">
            {trans.__('Signed by key')}
          </span>{' '}
          <code className="jp-ModelVault-BundleKeyId">
            {detail.signature?.key_id ?? '—'}
          </code>{' '}
          {detail.signature?.algorithm}
        </div>
      </div>
      <div className="jp-ModelVault-Actions">
        <button
          type="button"
          className="jp-mod-styled"
          disabled={props.busy !== null}
          onClick={props.onVerify}
        >
          {props.busy === 'verify'
            ? trans.__('Verifying…')
            : trans.__('Verify')}
        </button>
        {props.isAdmin && props.nextEnvironment && (
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept"
            disabled={props.busy !== null}
            onClick={props.onPromote}
          >
            {trans.__('Promote to %1', props.nextEnvironment)}
          </button>
        )}
        <button
          type="button"
          className="jp-mod-styled"
          disabled={props.busy !== null}
          onClick={() => props.onDownload('archive')}
        >
          {trans.__('Export archive')}
        </button>
        <button
          type="button"
          className="jp-mod-styled"
          disabled={props.busy !== null}
          onClick={() => props.onDownload('bom')}
        >
          {trans.__('Download AI-BOM')}
        </button>
      </div>
      {report && (
        <div
          className={`jp-ModelVault-Alert jp-ModelVault-BundleVerify ${report.ok ? '' : 'jp-ModelVault-Alert-error'}`}
          role="status"
        >
          {report.ok
            ? trans.__(
                'Verified: signature, promotion chain and every blob are intact.'
              )
            : trans.__('Verification failed.')}
          {(report.problems ?? []).length > 0 && (
            <ul>
              {(report.problems ?? []).map(p => (
                <li key={p.sha256}>
                  <code>{p.sha256.slice(0, 12)}</code> {p.problem}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <h4 className="jp-ModelVault-GroupTitle">{trans.__('Contents')}</h4>
      <ul
        className="jp-ModelVault-EventList jp-ModelVault-BundleContents"
        aria-label={trans.__('Contents')}
      >
        {components.map((component, i) => {
          const c = Private.componentRow(component);
          return (
            <li key={i}>
              <div className="jp-ModelVault-Row">
                <span className="jp-ModelVault-Row-name">
                  {c.title}
                  {c.version ? ` ${c.version}` : ''}
                </span>
                <span className="jp-ModelVault-Badge">{c.badge}</span>
              </div>
              {c.commit && (
                <div className="jp-ModelVault-Hint">
                  <span className="jp-ModelVault-Label">
                    {trans.__('Commit')}
                  </span>{' '}
                  <code title={c.commit}>{c.commit.slice(0, 12)}</code>
                </div>
              )}
              {c.sha256 && (
                <div className="jp-ModelVault-Hint">
                  <code
                    title={c.sha256}
                  >{`sha256:${c.sha256.slice(0, 12)}`}</code>
                </div>
              )}
              {c.files.length > 0 && (
                <ul className="jp-ModelVault-BundleFiles">
                  {c.files.map(f => (
                    <li key={f.path}>
                      <span>{f.path}</span>{' '}
                      <code title={f.sha256}>{f.sha256.slice(0, 12)}</code>
                    </li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
      <h4 className="jp-ModelVault-GroupTitle">{trans.__('Promotions')}</h4>
      <div className="jp-ModelVault-PipelineWrap">
        <PromotionPipeline
          environments={props.environments ?? []}
          promotions={promotions}
          trans={trans}
        />
      </div>
      {promotions.length === 0 ? (
        <p className="jp-ModelVault-Placeholder">
          {trans.__('Not promoted yet.')}
        </p>
      ) : (
        <ol
          className="jp-ModelVault-EventList jp-ModelVault-BundlePromotions"
          aria-label={trans.__('Promotions')}
        >
          {promotions.map((p, i) => (
            <li key={i}>
              {p.from ?? '—'} → <strong>{p.to}</strong> {p.by ?? ''}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/**
 * Module internals.
 */
namespace Private {
  /**
   * What the contents list shows of a manifest component, by its kind.
   */
  export interface IComponentRow {
    title: string;
    version?: string;
    badge: string;
    commit?: string;
    sha256?: string;
    files: ModelVault.IBundleFile[];
  }

  /**
   * The row of a component: a Hub repo at its commit with its files, a
   * package file or a generic file.
   */
  export function componentRow(c: ModelVault.IBundleComponent): IComponentRow {
    switch (c.kind) {
      case 'hub':
        return {
          title: c.repo_id,
          badge: c.repo_type,
          commit: c.commit,
          files: c.files
        };
      case 'package':
        return {
          title: c.name,
          version: c.version,
          badge: c.kind,
          sha256: c.sha256,
          files: []
        };
      case 'file':
        return { title: c.name, badge: c.kind, sha256: c.sha256, files: [] };
    }
  }
}
