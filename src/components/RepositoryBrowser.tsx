import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatSize } from '../snippets';
import type { ModelVault } from '../tokens';
import { StatusBadge } from './StatusBadge';
import { VirtualList } from './VirtualList';

/**
 * A list loaded page by page.
 */
export interface IPagedList<T> {
  items: ReadonlyArray<T>;
  next: string | null;
  loaded: boolean;
  loading: boolean;
  error: string | null;
}

/**
 * Row height of the virtualised lists, in pixels.
 */
export const ROW_HEIGHT = 26;

/**
 * Properties of the `HubRepoList` component.
 */
export interface IHubRepoListProps {
  repository: string;
  hubType: string;
  repos: IPagedList<ModelVault.IHubRepo>;
  onBack: () => void;
  onSetType: (type: string) => void;
  onLoadMore: () => void;
  onOpen: (repoType: string, repoId: string) => void;
  onRendered?: (count: number) => void;
  trans: TranslationBundle;
}

/**
 * The Hub repos of an hf repository: type filter, name filter, virtualised list, "load more".
 */
export function HubRepoList(props: IHubRepoListProps): JSX.Element {
  const { repos, trans } = props;
  const [filter, setFilter] = React.useState('');
  const needle = filter.trim().toLowerCase();
  const items = needle
    ? repos.items.filter(r => r.repo_id.toLowerCase().includes(needle))
    : repos.items;
  return (
    <div className="jp-ModelVault-Browser" aria-busy={repos.loading}>
      <Breadcrumbs
        trail={[trans.__('Repositories'), props.repository]}
        onNavigate={() => props.onBack()}
        trans={trans}
      />
      <div className="jp-ModelVault-Filters">
        <select
          className="jp-mod-styled"
          aria-label={trans.__('Repo type')}
          value={props.hubType}
          onChange={event => props.onSetType(event.currentTarget.value)}
        >
          <option value="">{trans.__('All types')}</option>
          <option value="model">{trans.__('Models')}</option>
          <option value="dataset">{trans.__('Datasets')}</option>
          <option value="space">{trans.__('Spaces')}</option>
        </select>
        <input
          type="search"
          className="jp-ModelVault-Search jp-mod-styled"
          placeholder={trans.__('Filter repos')}
          aria-label={trans.__('Filter Hub repos')}
          value={filter}
          onChange={event => setFilter(event.currentTarget.value)}
        />
      </div>
      {repos.error && <Alert message={repos.error} />}
      {!repos.loaded && repos.loading && (
        <p className="jp-ModelVault-Placeholder">{trans.__('Loading…')}</p>
      )}
      {repos.loaded && repos.items.length === 0 && (
        <p className="jp-ModelVault-Placeholder">
          {trans.__('No Hub repos in %1 yet.', props.repository)}
        </p>
      )}
      {repos.loaded && (
        <p className="jp-ModelVault-Count">
          {repos.next
            ? trans.__('%1 repos loaded', repos.items.length)
            : trans.__('%1 repos', repos.items.length)}
        </p>
      )}
      {items.length > 0 && (
        <VirtualList
          items={items}
          rowHeight={ROW_HEIGHT}
          maxHeight={320}
          label={trans.__('Hub repos of %1', props.repository)}
          idPrefix="jp-ModelVault-hubrepo"
          keyOf={r => `${r.repo_type}/${r.repo_id}`}
          onActivate={r => props.onOpen(r.repo_type, r.repo_id)}
          onRendered={props.onRendered}
          renderRow={r => (
            <>
              <span className="jp-ModelVault-Row-name" title={r.repo_id}>
                {r.repo_id}
              </span>
              <span className="jp-ModelVault-Badge">{r.repo_type}</span>
              {r.private && (
                <span className="jp-ModelVault-Badge">
                  {trans.__('private')}
                </span>
              )}
            </>
          )}
        />
      )}
      {repos.next && (
        <button
          type="button"
          className="jp-mod-styled jp-ModelVault-LoadMore"
          disabled={repos.loading}
          onClick={props.onLoadMore}
        >
          {repos.loading ? trans.__('Loading…') : trans.__('Load more')}
        </button>
      )}
    </div>
  );
}

/**
 * Properties of the `FileList` component.
 */
export interface IFileListProps {
  repository: string;
  repo: { repoType: string; repoId: string; revision: string };
  summary: ModelVault.IFilePage | null;
  files: IPagedList<ModelVault.IRepoFile>;
  selectedPath: string | null;
  onNavigate: (level: number) => void;
  onRevision: (revision: string) => void;
  onLoadMore: () => void;
  onSelect: (file: ModelVault.IRepoFile) => void;
  onRendered?: (count: number) => void;
  trans: TranslationBundle;
}

/**
 * The files of a Hub repo at a revision: licence, repo decision, and a virtualised
 * list of files with their size and verdict badge.
 */
export function FileList(props: IFileListProps): JSX.Element {
  const { files, summary, repo, trans } = props;
  const [revision, setRevision] = React.useState(repo.revision);
  React.useEffect(() => setRevision(repo.revision), [repo.revision]);
  const decision = summary?.decision;
  return (
    <div className="jp-ModelVault-Browser" aria-busy={files.loading}>
      <Breadcrumbs
        trail={[trans.__('Repositories'), props.repository, repo.repoId]}
        onNavigate={props.onNavigate}
        trans={trans}
      />
      <form
        className="jp-ModelVault-Filters"
        onSubmit={event => {
          event.preventDefault();
          props.onRevision(revision.trim() || 'main');
        }}
      >
        <label className="jp-ModelVault-Inline">
          {trans.__('Revision')}
          <input
            className="jp-mod-styled"
            value={revision}
            aria-label={trans.__('Revision')}
            onChange={event => setRevision(event.currentTarget.value)}
          />
        </label>
        <button type="submit" className="jp-mod-styled">
          {trans.__('Go')}
        </button>
      </form>
      {summary && (
        <div className="jp-ModelVault-RepoSummary">
          <div>
            <span className="jp-ModelVault-Label">{trans.__('Licence')}</span>{' '}
            <span className="jp-ModelVault-License">
              {summary.license || trans.__('none declared')}
            </span>
          </div>
          <div>
            <span className="jp-ModelVault-Label">{trans.__('Commit')}</span>{' '}
            <code title={summary.commit}>{summary.commit.slice(0, 12)}</code>
          </div>
          {decision && (
            <div className="jp-ModelVault-Decision">
              <span className="jp-ModelVault-Label">{trans.__('Policy')}</span>{' '}
              <StatusBadge status={decision.status} trans={trans} />
              <ViolationReasons
                violations={decision.violations}
                waived={decision.waived}
                trans={trans}
              />
            </div>
          )}
          {summary.warning && <Alert message={summary.warning} warning />}
        </div>
      )}
      {files.error && <Alert message={files.error} />}
      {!files.loaded && files.loading && (
        <p className="jp-ModelVault-Placeholder">{trans.__('Loading…')}</p>
      )}
      {files.loaded && (
        <p className="jp-ModelVault-Count">
          {summary?.total !== undefined && summary.total !== files.items.length
            ? trans.__(
                '%1 of %2 files loaded',
                files.items.length,
                summary.total
              )
            : trans.__('%1 files', files.items.length)}
        </p>
      )}
      {files.items.length > 0 && (
        <VirtualList
          items={files.items}
          rowHeight={ROW_HEIGHT}
          maxHeight={360}
          label={trans.__('Files of %1', repo.repoId)}
          idPrefix="jp-ModelVault-file"
          keyOf={f => f.path}
          selectedKey={props.selectedPath}
          onActivate={props.onSelect}
          onRendered={props.onRendered}
          renderRow={f => (
            <>
              <span className="jp-ModelVault-Row-name" title={f.path}>
                {f.path}
              </span>
              <span className="jp-ModelVault-Row-size">
                {formatSize(f.size)}
              </span>
              <StatusBadge
                status={f.status}
                trans={trans}
                title={[...f.violations, ...f.waived]
                  .map(v => v.reason)
                  .join('\n')}
              />
            </>
          )}
        />
      )}
      {files.next && (
        <button
          type="button"
          className="jp-mod-styled jp-ModelVault-LoadMore"
          disabled={files.loading}
          onClick={props.onLoadMore}
        >
          {files.loading ? trans.__('Loading…') : trans.__('Load more files')}
        </button>
      )}
    </div>
  );
}

/**
 * Policy violations (and waived ones) with their reasons.
 */
export function ViolationReasons(props: {
  violations: ReadonlyArray<ModelVault.IViolation>;
  waived: ReadonlyArray<ModelVault.IViolation>;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { violations, waived, trans } = props;
  if (violations.length === 0 && waived.length === 0) {
    return null;
  }
  return (
    <ul className="jp-ModelVault-Reasons">
      {violations.map((v, i) => (
        <li key={`v${i}`} data-action={v.action}>
          <strong>{v.policy}</strong> ({v.action}): {v.reason}
        </li>
      ))}
      {waived.map((v, i) => (
        <li key={`w${i}`} data-action="waived">
          <strong>{v.policy}</strong> ({trans.__('waived')}): {v.reason}
        </li>
      ))}
    </ul>
  );
}

/**
 * A breadcrumb trail; every item but the last navigates up to its level.
 */
export function Breadcrumbs(props: {
  trail: string[];
  onNavigate: (level: number) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { trail } = props;
  return (
    <nav
      className="jp-ModelVault-Breadcrumbs"
      aria-label={props.trans.__('Location')}
    >
      {trail.map((label, level) => (
        <React.Fragment key={level}>
          {level > 0 && <span aria-hidden="true">/</span>}
          {level < trail.length - 1 ? (
            <button
              type="button"
              className="jp-ModelVault-LinkButton"
              onClick={() => props.onNavigate(level)}
            >
              {label}
            </button>
          ) : (
            <span aria-current="location" title={label}>
              {label}
            </span>
          )}
        </React.Fragment>
      ))}
    </nav>
  );
}

/**
 * An inline error or warning.
 */
export function Alert(props: {
  message: string;
  warning?: boolean;
}): JSX.Element {
  return (
    <div
      className={`jp-ModelVault-Alert ${props.warning ? '' : 'jp-ModelVault-Alert-error'}`}
      role="alert"
    >
      {props.message}
    </div>
  );
}
