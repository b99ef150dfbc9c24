import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatSize } from '../snippets';
import type { ModelVault } from '../tokens';
import { SelectField, TextField } from './Field';

type IBundleSource = ModelVault.IBundleSource;

/**
 * A component picked in the wizard: exactly what `POST bundles` takes.
 */
export type PickedComponent = ModelVault.BundleComponentRequest;

/**
 * Properties shared by the pickers.
 */
interface IPickerProps {
  source: IBundleSource;
  onAdd: (component: PickedComponent) => void;
  trans: TranslationBundle;
}

/**
 * Identity of a component: the same one is never added twice.
 */
export function componentKey(c: PickedComponent): string {
  switch (c.kind) {
    case 'hub':
      return `hub:${c.repository}:${c.repo_type ?? 'model'}:${c.repo_id}`;
    case 'package':
      return `package:${c.repository}:${c.name}:${c.version}:${c.filename ?? '*'}`;
    case 'file':
      return `file:${c.name}`;
  }
}

/**
 * The text of a component in the list: its name, a detail (revision, version) and where from.
 */
export function componentLabel(c: PickedComponent): {
  name: string;
  detail: string;
  badge: string;
} {
  switch (c.kind) {
    case 'hub':
      return {
        name: c.repo_id,
        detail: `@${c.revision ?? 'main'}`,
        badge: c.repository
      };
    case 'package':
      return {
        name: c.filename ?? c.name,
        detail: c.filename ? '' : `==${c.version}`,
        badge: c.repository
      };
    case 'file':
      return { name: c.name, detail: '', badge: 'file' };
  }
}

/**
 * State of an asynchronous load of a picker's choices.
 */
interface ILoaded<T> {
  value: T | null;
  error: string | null;
}

/**
 * The message of a failed load (the client's errors carry the server's message).
 */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Load `load()` whenever `deps` change (a stale answer is dropped).
 */
function useLoad<T>(
  load: (() => Promise<T>) | null,
  deps: React.DependencyList
): ILoaded<T> {
  const [state, setState] = React.useState<ILoaded<T>>({
    value: null,
    error: null
  });
  React.useEffect(() => {
    setState({ value: null, error: null });
    if (!load) {
      return;
    }
    let cancelled = false;
    load().then(
      value => !cancelled && setState({ value, error: null }),
      error => !cancelled && setState({ value: null, error: messageOf(error) })
    );
    return () => {
      cancelled = true;
    };
  }, deps);
  return state;
}

function LoadError(props: { error: string | null }): JSX.Element | null {
  return props.error ? (
    <div className="jp-ModelVault-Alert jp-ModelVault-Alert-error" role="alert">
      {props.error}
    </div>
  ) : null;
}

function AddButton(props: {
  disabled: boolean;
  onClick: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  return (
    <div className="jp-ModelVault-Actions">
      <button
        type="button"
        className="jp-mod-styled"
        disabled={props.disabled}
        onClick={props.onClick}
      >
        {props.trans.__('Add component')}
      </button>
    </div>
  );
}

/**
 * What a repository-scoped picker starts with: the repository select and the
 * load error, then the picker's own fields; a placeholder instead when the
 * vault has no repository of the kind.
 */
function RepositoryFrame(props: {
  repositories: ReadonlyArray<ModelVault.IRepository>;
  value: string;
  onChange: (key: string) => void;
  empty: string;
  error: string | null;
  trans: TranslationBundle;
  children: React.ReactNode;
}): JSX.Element {
  if (props.repositories.length === 0) {
    return <p className="jp-ModelVault-Placeholder">{props.empty}</p>;
  }
  return (
    <>
      <label className="jp-ModelVault-Field">
        {props.trans.__('Repository')}
        <select
          className="jp-mod-styled"
          value={props.value}
          onChange={e => props.onChange(e.currentTarget.value)}
        >
          {props.repositories.map(r => (
            <option key={r.key} value={r.key}>
              {r.key} ({r.kind})
            </option>
          ))}
        </select>
      </label>
      <LoadError error={props.error} />
      {props.children}
    </>
  );
}

/**
 * Hub repo at a revision. The repos load a page at a time ("Load more"), and
 * a filter narrows the loaded ones, so a repository with thousands of repos
 * stays usable.
 */
export function HubRepoPicker(
  props: IPickerProps & { repositories: ReadonlyArray<ModelVault.IRepository> }
): JSX.Element {
  const { trans } = props;
  const [repository, setRepository] = React.useState(
    props.repositories[0]?.key ?? ''
  );
  const [repos, setRepos] = React.useState<ModelVault.IHubRepo[]>([]);
  const [next, setNext] = React.useState<string | null>(null);
  const [loading, setLoading] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const [filter, setFilter] = React.useState('');
  const [hubRepo, setHubRepo] = React.useState('');
  const [revision, setRevision] = React.useState('main');
  const generation = React.useRef(0);

  const loadPage = async (key: string, after: string | null) => {
    const mine = generation.current;
    setLoading(true);
    setError(null);
    try {
      const page = await props.source.listHubRepos(key, after);
      if (mine !== generation.current) {
        return;
      }
      setRepos(previous => [...(after ? previous : []), ...page.repos]);
      setNext(page.next);
    } catch (reason) {
      if (mine === generation.current) {
        setError(messageOf(reason));
      }
    } finally {
      if (mine === generation.current) {
        setLoading(false);
      }
    }
  };

  React.useEffect(() => {
    generation.current++;
    setRepos([]);
    setNext(null);
    setHubRepo('');
    if (repository) {
      void loadPage(repository, null);
    }
  }, [repository]);

  const needle = filter.trim().toLowerCase();
  const shown = needle
    ? repos.filter(r => r.repo_id.toLowerCase().includes(needle))
    : repos;
  const selected =
    shown.find(r => `${r.repo_type}:${r.repo_id}` === hubRepo) ?? shown[0];

  return (
    <RepositoryFrame
      repositories={props.repositories}
      value={repository}
      onChange={setRepository}
      empty={trans.__('No Hub repositories in this vault.')}
      error={error}
      trans={trans}
    >
      <TextField
        fieldClass="jp-ModelVault-Field"
        label={trans.__('Filter loaded Hub repos')}
        type="search"
        name="bundle-hub-filter"
        value={filter}
        onChange={setFilter}
      />
      <label className="jp-ModelVault-Field">
        {trans.__('Hub repo')}
        <select
          className="jp-mod-styled"
          aria-label={trans.__('Hub repo')}
          value={selected ? `${selected.repo_type}:${selected.repo_id}` : ''}
          disabled={shown.length === 0}
          onChange={e => setHubRepo(e.currentTarget.value)}
        >
          {shown.map(r => (
            <option
              key={`${r.repo_type}:${r.repo_id}`}
              value={`${r.repo_type}:${r.repo_id}`}
            >
              {r.repo_id} ({r.repo_type})
            </option>
          ))}
        </select>
      </label>
      <div className="jp-ModelVault-Row jp-ModelVault-Hint">
        <span className="jp-ModelVault-Row-name" role="status">
          {loading
            ? trans.__('Loading…')
            : trans.__('%1 Hub repos loaded', repos.length)}
        </span>
        {next && (
          <button
            type="button"
            className="jp-ModelVault-LinkButton"
            disabled={loading}
            onClick={() => void loadPage(repository, next)}
          >
            {trans.__('Load more')}
          </button>
        )}
      </div>
      <TextField
        fieldClass="jp-ModelVault-Field"
        label={trans.__('Revision')}
        name="bundle-revision"
        value={revision}
        onChange={setRevision}
      />
      <AddButton
        disabled={!selected}
        onClick={() =>
          selected &&
          props.onAdd({
            kind: 'hub',
            repository,
            repo_type: selected.repo_type,
            repo_id: selected.repo_id,
            revision: revision.trim() || 'main'
          })
        }
        trans={trans}
      />
    </RepositoryFrame>
  );
}

/**
 * A Python distribution: repository → project → version → all its files or one.
 */
export function PackagePicker(
  props: IPickerProps & { repositories: ReadonlyArray<ModelVault.IRepository> }
): JSX.Element {
  const { trans } = props;
  const [repository, setRepository] = React.useState(
    props.repositories[0]?.key ?? ''
  );
  const [project, setProject] = React.useState('');
  const [version, setVersion] = React.useState('');
  const [filename, setFilename] = React.useState('');
  const projects = useLoad(
    repository ? () => props.source.listPackageProjects(repository) : null,
    [repository]
  );
  const currentProject =
    project && projects.value?.includes(project)
      ? project
      : (projects.value?.[0] ?? '');
  const files = useLoad(
    repository && currentProject
      ? () => props.source.listPackageFiles(repository, currentProject)
      : null,
    [repository, currentProject]
  );
  // Newest first, by PEP 440-ish numeric comparison of the parts.
  const versions = [...new Set((files.value ?? []).map(f => f.version))].sort(
    (a, b) => b.localeCompare(a, undefined, { numeric: true })
  );
  const currentVersion = versions.includes(version)
    ? version
    : (versions[0] ?? '');
  const versionFiles = (files.value ?? []).filter(
    f => f.version === currentVersion
  );
  const currentFile = versionFiles.some(f => f.filename === filename)
    ? filename
    : '';

  return (
    <RepositoryFrame
      repositories={props.repositories}
      value={repository}
      onChange={setRepository}
      empty={trans.__('No PyPI repositories in this vault.')}
      error={projects.error ?? files.error}
      trans={trans}
    >
      {projects.value && projects.value.length === 0 ? (
        <p className="jp-ModelVault-Placeholder">
          {trans.__('No packages stored in %1.', repository)}
        </p>
      ) : (
        <>
          <SelectField
            fieldClass="jp-ModelVault-Field"
            label={trans.__('Project')}
            name="bundle-project"
            value={currentProject}
            disabled={!projects.value}
            options={(projects.value ?? []).map(p => ({ value: p, text: p }))}
            onChange={setProject}
          />
          <SelectField
            fieldClass="jp-ModelVault-Field"
            label={trans.__('Version')}
            name="bundle-package-version"
            value={currentVersion}
            disabled={versions.length === 0}
            options={versions.map(v => ({ value: v, text: v }))}
            onChange={setVersion}
          />
          <SelectField
            fieldClass="jp-ModelVault-Field"
            label={trans.__('Files')}
            name="bundle-package-file"
            value={currentFile}
            disabled={versionFiles.length === 0}
            options={[
              {
                value: '',
                text: trans.__(
                  'All %1 file(s) of this version',
                  versionFiles.length
                )
              },
              ...versionFiles.map(f => ({
                value: f.filename,
                text: `${f.filename} (${formatSize(f.size)})`
              }))
            ]}
            onChange={setFilename}
          />
        </>
      )}
      <AddButton
        disabled={!currentProject || !currentVersion}
        onClick={() =>
          props.onAdd({
            kind: 'package',
            repository,
            name: currentProject,
            version: currentVersion,
            ...(currentFile ? { filename: currentFile } : {})
          })
        }
        trans={trans}
      />
    </RepositoryFrame>
  );
}

/**
 * A generic file of the vault (uploaded with `PUT files/{name}`).
 */
export function GenericFilePicker(props: IPickerProps): JSX.Element {
  const { trans } = props;
  const [name, setName] = React.useState('');
  const files = useLoad(() => props.source.listGenericFiles(), []);
  const current =
    files.value?.find(f => f.name === name)?.name ??
    files.value?.[0]?.name ??
    '';
  return (
    <>
      <LoadError error={files.error} />
      {files.value && files.value.length === 0 ? (
        <p className="jp-ModelVault-Placeholder">
          {trans.__('No generic files in this vault.')}
        </p>
      ) : (
        <label className="jp-ModelVault-Field">
          {trans.__('File')}
          <select
            className="jp-mod-styled"
            name="bundle-file"
            value={current}
            disabled={!files.value}
            onChange={e => setName(e.currentTarget.value)}
          >
            {(files.value ?? []).map(f => (
              <option key={f.name} value={f.name}>
                {f.name} ({formatSize(f.size)})
              </option>
            ))}
          </select>
        </label>
      )}
      <AddButton
        disabled={!current}
        onClick={() => props.onAdd({ kind: 'file', name: current })}
        trans={trans}
      />
    </>
  );
}
