import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { mark } from '../../models/polling';
import { formatSize } from '../../snippets';
import { themedMermaid, useJupyterTheme } from '../../components/mermaidTheme';
import type { ModelVault } from '../../tokens';
import { FilesGrid, IGridColumn } from './FilesGrid';
import { MimeView } from './MimeView';
import { ModelPageModel, PerfMarks } from './ModelPageModel';
import {
  cardBody,
  evidenceLines,
  graphSentences,
  IFileRow,
  lineageGraph,
  mermaidDefinition,
  revisionGroups
} from './shaping';

/**
 * What the page asks of its host (the plugin): clipboard, notebook, dialogs.
 */
export interface IModelPageActions {
  copy(text: string): void;
  /**
   * Insert code as a new cell below the active cell of the active notebook.
   */
  insert(code: string): void;
  canInsert(): boolean;
  waive(row: IFileRow, policy: string): Promise<void>;
  revoke(waiver: ModelVault.IWaiver): Promise<void>;
  /**
   * The client snippet of a file (download pinned to the shown commit).
   */
  snippetOf(path: string): string;
  /**
   * The Set Me Up snippet of the repository.
   */
  setMeUp(): string;
}

export interface IModelPageViewProps {
  model: ModelPageModel;
  rendermime: IRenderMimeRegistry;
  actions: IModelPageActions;
  trans: TranslationBundle;
}

const ROW_HEIGHT = 28;
const GRID_HEIGHT = 420;

/**
 * The body of a model page (re-rendered on `model.changed`).
 */
export function ModelPageView(props: IModelPageViewProps): JSX.Element {
  const { model, trans } = props;
  const { args } = model;
  const title = model.isPackage
    ? trans.__('PyPI project %1', args.repoId)
    : `${args.repoId}`;
  return (
    <div className="jp-ModelVault-ModelPage-body">
      <header className="jp-ModelVault-ModelPage-header">
        <h1>{title}</h1>
        <p className="jp-ModelVault-ModelPage-meta">
          {model.isPackage
            ? trans.__('PyPI project in repository %1', args.repository)
            : trans.__('%1 in repository %2', args.repoType, args.repository)}
          {model.loading ? ` · ${trans.__('loading…')}` : ''}
        </p>
        {!model.isPackage && <RevisionPicker {...props} />}
        <SetMeUp {...props} />
      </header>
      {model.isPackage ? (
        <PackageSections {...props} />
      ) : (
        <HubSections {...props} />
      )}
    </div>
  );
}

function Section(props: {
  id: string;
  title: string;
  children: React.ReactNode;
}): JSX.Element {
  const heading = `jp-ModelVault-ModelPage-${props.id}-title`;
  return (
    <section
      className={`jp-ModelVault-ModelPage-section jp-ModelVault-ModelPage-${props.id}`}
      aria-labelledby={heading}
    >
      <h2 id={heading}>{props.title}</h2>
      {props.children}
    </section>
  );
}

function ErrorLine(props: { message?: string }): JSX.Element | null {
  return props.message ? (
    <p className="jp-ModelVault-ModelPage-error" role="alert">
      {props.message}
    </p>
  ) : null;
}

function RevisionPicker(props: IModelPageViewProps): JSX.Element {
  const { model, trans } = props;
  const overview = model.overview;
  const groups = overview ? revisionGroups(overview) : [];
  const current = model.revision ?? overview?.revision ?? 'main';
  return (
    <div className="jp-ModelVault-ModelPage-revision">
      <label>
        {trans.__('Revision')}{' '}
        <select
          className="jp-mod-styled"
          value={current}
          onChange={event => void model.load(event.currentTarget.value)}
        >
          {!groups.some(g => g.options.some(o => o.value === current)) && (
            <option value={current}>{current}</option>
          )}
          {groups.map(group => (
            <optgroup key={group.label} label={trans.__(group.label)}>
              {group.options.map(option => (
                <option
                  key={`${group.label}:${option.value}`}
                  value={option.value}
                >
                  {option.text}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </label>
      {overview && (
        <span className="jp-ModelVault-ModelPage-commit">
          {trans.__('commit %1', overview.commit.slice(0, 12))}
        </span>
      )}
    </div>
  );
}

function SetMeUp(props: IModelPageViewProps): JSX.Element {
  const { actions, trans } = props;
  return (
    <div className="jp-ModelVault-ModelPage-setmeup">
      <button
        className="jp-mod-styled jp-mod-accept"
        onClick={() => actions.copy(actions.setMeUp())}
      >
        {trans.__('Copy Set Me Up snippet')}
      </button>
      <button
        className="jp-mod-styled"
        disabled={!actions.canInsert()}
        title={
          actions.canInsert()
            ? trans.__('Insert a code cell below the active cell')
            : trans.__('Open a notebook first')
        }
        onClick={() => actions.insert(actions.setMeUp())}
      >
        {trans.__('Insert into notebook')}
      </button>
    </div>
  );
}

function HubSections(props: IModelPageViewProps): JSX.Element {
  const { model, trans } = props;
  const overview = model.overview;
  return (
    <>
      <ErrorLine message={model.errors.overview} />
      {overview?.warning && (
        <p className="jp-ModelVault-ModelPage-warning">{overview.warning}</p>
      )}
      <Decision {...props} />
      {overview?.upstream && (
        <Section id="remote" title={trans.__('Remote cache')}>
          <dl className="jp-ModelVault-ModelPage-fields">
            <dt>{trans.__('Upstream')}</dt>
            <dd>{overview.upstream}</dd>
            <dt>{trans.__('Served by')}</dt>
            <dd>{overview.source}</dd>
            {overview.cache && (
              <>
                <dt>{trans.__('Cached files')}</dt>
                <dd>
                  {trans.__(
                    '%1 of %2 files (%3 of %4)',
                    overview.cache.cached_files,
                    overview.cache.files,
                    formatSize(overview.cache.cached_bytes),
                    formatSize(overview.cache.bytes)
                  )}
                </dd>
              </>
            )}
          </dl>
        </Section>
      )}
      <Lineage {...props} />
      <Files {...props} />
      <Card {...props} />
    </>
  );
}

function Decision(props: IModelPageViewProps): JSX.Element | null {
  const { model, trans } = props;
  const page = model.firstPage;
  if (!page?.decision) {
    return null;
  }
  const decision = page.decision;
  const items = [
    ...decision.violations.map(v => ({ v, waived: false })),
    ...decision.waived.map(v => ({ v, waived: true }))
  ];
  return (
    <Section id="decision" title={trans.__('Policy decision')}>
      <p>
        <span
          className={`jp-ModelVault-ModelPage-status jp-mod-${decision.status}`}
        >
          {decision.status}
        </span>{' '}
        {trans.__('licence: %1', page.license ?? trans.__('none declared'))}
        {' · '}
        {trans.__('%1 files', page.total ?? model.rows.length)}
      </p>
      {items.length === 0 ? (
        <p>{trans.__('No repository-level violation.')}</p>
      ) : (
        <ul className="jp-ModelVault-ModelPage-violations">
          {items.map(({ v, waived }, i) => (
            <li key={i}>
              <b>
                {waived ? trans.__('waived') : v.action} · {v.policy}
              </b>
              : {v.reason}
              {evidenceLines(v.evidence).length > 0 && (
                <ul aria-label={trans.__('Evidence')}>
                  {evidenceLines(v.evidence).map((line, j) => (
                    <li key={j}>
                      <code>{line}</code>
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

function Card(props: IModelPageViewProps): JSX.Element | null {
  const { model, rendermime, trans } = props;
  const overview = model.overview;
  if (!overview) {
    return null;
  }
  const card = overview.card;
  const body = cardBody(overview.readme);
  return (
    <Section id="card" title={trans.__('Model card')}>
      {overview.card_error && (
        <p className="jp-ModelVault-ModelPage-error">{overview.card_error}</p>
      )}
      <dl className="jp-ModelVault-ModelPage-fields">
        <dt>{trans.__('Licence')}</dt>
        <dd>{card.license ?? '—'}</dd>
        <dt>{trans.__('Base model')}</dt>
        <dd>{card.base_model.join(', ') || '—'}</dd>
        {card.datasets.length > 0 && (
          <>
            <dt>{trans.__('Datasets')}</dt>
            <dd>{card.datasets.join(', ')}</dd>
          </>
        )}
        {card.tags.length > 0 && (
          <>
            <dt>{trans.__('Tags')}</dt>
            <dd>{card.tags.join(', ')}</dd>
          </>
        )}
      </dl>
      {body ? (
        <MimeView
          rendermime={rendermime}
          mimeType="text/markdown"
          source={body}
          className="jp-ModelVault-ModelPage-markdown"
        />
      ) : (
        <p>{trans.__('This repo has no README.md.')}</p>
      )}
    </Section>
  );
}

const MERMAID = 'text/vnd.mermaid';

function Lineage(props: IModelPageViewProps): JSX.Element | null {
  const { model, rendermime, trans } = props;
  // Re-render (re-read the theme's colours) when the theme changes.
  const dark = useJupyterTheme().endsWith(':false');
  // The theme of the drawn graph (what screenshots wait for).
  const [drawn, setDrawn] = React.useState<string | null>(null);
  const overview = model.overview;
  if (!overview) {
    return null;
  }
  const graph = lineageGraph(overview, model.lineage);
  const sentences = graphSentences(graph);
  const hasMermaid = rendermime.mimeTypes.includes(MERMAID);
  // One id per page: several pages can be open at once.
  const textId =
    `jp-ModelVault-lineage-${model.args.repository}-${overview.repo_id}`.replace(
      /[^A-Za-z0-9_-]/g,
      '-'
    );
  return (
    <Section id="lineage" title={trans.__('Lineage')}>
      <ErrorLine message={model.errors.lineage} />
      {hasMermaid && graph.edges.length > 0 && (
        <div
          className="jp-ModelVault-ModelPage-graph"
          role="img"
          aria-label={trans.__('Lineage graph of %1', overview.repo_id)}
          aria-describedby={textId}
          data-drawn-theme={drawn ?? undefined}
        >
          <MimeView
            rendermime={rendermime}
            mimeType={MERMAID}
            source={themedMermaid(mermaidDefinition(graph))}
            onRendered={() => setDrawn(dark ? 'dark' : 'light')}
          />
        </div>
      )}
      <ul
        id={textId}
        className="jp-ModelVault-ModelPage-lineage-text"
        aria-label={trans.__('Lineage as text')}
      >
        {sentences.length === 0 ? (
          <li>{trans.__('No base model, bundle or download recorded.')}</li>
        ) : (
          sentences.map((s, i) => <li key={i}>{s}</li>)
        )}
      </ul>
    </Section>
  );
}

function Files(props: IModelPageViewProps): JSX.Element {
  const { model, actions, trans } = props;
  const columns: IGridColumn<IFileRow>[] = [
    {
      id: 'path',
      title: trans.__('Path'),
      width: 'minmax(12em, 3fr)',
      render: row => <span title={row.file.path}>{row.file.path}</span>
    },
    {
      id: 'size',
      title: trans.__('Size'),
      width: '6em',
      render: row => row.size
    },
    {
      id: 'verdict',
      title: trans.__('Verdict'),
      width: '7em',
      render: row => row.verdict
    },
    {
      id: 'status',
      title: trans.__('Status'),
      width: '7em',
      render: row => (
        <span
          className={`jp-ModelVault-ModelPage-status jp-mod-${row.file.status}`}
        >
          {row.file.status}
        </span>
      )
    },
    {
      id: 'violations',
      title: trans.__('Violations'),
      width: 'minmax(8em, 2fr)',
      render: row => <span title={row.violations}>{row.violations}</span>
    },
    {
      id: 'actions',
      title: trans.__('Actions'),
      width: '15em',
      render: row => (
        <span className="jp-ModelVault-ModelPage-actions">
          {row.waivable &&
            row.file.violations
              .filter(v => v.action === 'block')
              .slice(0, 1)
              .map(v => (
                <button
                  key={v.policy}
                  tabIndex={-1}
                  className="jp-mod-styled"
                  onClick={() => void actions.waive(row, v.policy)}
                >
                  {trans.__('Waive…')}
                </button>
              ))}
          {model.waiversOf(row.file).map(w => (
            <button
              key={w.id}
              tabIndex={-1}
              className="jp-mod-styled jp-mod-warn"
              onClick={() => void actions.revoke(w)}
            >
              {trans.__('Revoke waiver')}
            </button>
          ))}
          <button
            tabIndex={-1}
            className="jp-mod-styled"
            title={trans.__('Copy a download snippet pinned to this commit')}
            onClick={() => actions.copy(actions.snippetOf(row.file.path))}
          >
            {trans.__('Copy snippet')}
          </button>
        </span>
      )
    }
  ];
  return (
    <Section id="files" title={trans.__('Files')}>
      <ErrorLine message={model.errors.files} />
      <FilesGrid
        items={model.rows}
        columns={columns}
        keyOf={row => row.file.path}
        label={trans.__('Files of %1', model.args.repoId)}
        rowHeight={ROW_HEIGHT}
        height={GRID_HEIGHT}
        idPrefix="jp-ModelVault-files"
        onPainted={() => {
          if (model.rows.length > 0) {
            mark(PerfMarks.painted);
          }
        }}
      />
    </Section>
  );
}

function PackageSections(props: IModelPageViewProps): JSX.Element {
  const { model, trans } = props;
  const columns: IGridColumn<ModelVault.IPackageFile>[] = [
    {
      id: 'filename',
      title: trans.__('File'),
      width: 'minmax(14em, 3fr)',
      render: f => f.filename
    },
    {
      id: 'version',
      title: trans.__('Version'),
      width: '7em',
      render: f => f.version
    },
    {
      id: 'size',
      title: trans.__('Size'),
      width: '6em',
      render: f => formatSize(f.size)
    },
    {
      id: 'python',
      title: trans.__('Requires Python'),
      width: '9em',
      render: f => f.requires_python ?? ''
    },
    {
      id: 'yanked',
      title: trans.__('Yanked'),
      width: '8em',
      render: f => (f.yanked === null ? '' : f.yanked || trans.__('yes'))
    }
  ];
  return (
    <>
      <Section id="decision" title={trans.__('Licence')}>
        <p>
          {model.packageLicense ?? trans.__('not declared in its metadata')}
        </p>
      </Section>
      <Section id="files" title={trans.__('Files')}>
        <ErrorLine message={model.errors.files} />
        <FilesGrid
          items={model.packageFiles}
          columns={columns}
          keyOf={f => f.filename}
          label={trans.__('Files of %1', model.args.repoId)}
          rowHeight={ROW_HEIGHT}
          height={GRID_HEIGHT}
          idPrefix="jp-ModelVault-package-files"
        />
      </Section>
    </>
  );
}
