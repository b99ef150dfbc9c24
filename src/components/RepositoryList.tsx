import type { TranslationBundle } from '@jupyterlab/translation';
import { copyIcon, ToolbarButtonComponent } from '@jupyterlab/ui-components';
import * as React from 'react';

import type { ModelVault } from '../tokens';

/**
 * Properties of the `RepositoryList` component.
 */
export interface IRepositoryListProps {
  /**
   * The repositories to show.
   */
  repositories: ReadonlyArray<ModelVault.IRepository>;
  /**
   * Whether at least one load succeeded.
   */
  isLoaded: boolean;
  /**
   * Whether a load is in flight.
   */
  isLoading: boolean;
  /**
   * The message of the last failed load, if any.
   */
  error: string | null;
  /**
   * Called when the user asks to copy an endpoint URL.
   */
  onCopyUrl: (url: string) => void;
  /**
   * Called when the user opens a (Hub) repository to browse it.
   */
  onOpen?: (key: string) => void;
  /**
   * The search text (filters by key, kind and description).
   */
  search?: string;
  /**
   * Called when the search text changes; no search box without it.
   */
  onSearch?: (text: string) => void;
  /**
   * The translation bundle.
   */
  trans: TranslationBundle;
}

/**
 * The families of repository kinds, in display order.
 */
const FAMILIES: ReadonlyArray<{ id: string; prefix: string }> = [
  { id: 'hub', prefix: 'hf-' },
  { id: 'pypi', prefix: 'pypi-' }
];

/**
 * The "Repositories" section: a search box, then one entry per repository,
 * grouped by family (Hub, PyPI), with its key, kind (local, remote, virtual)
 * and client URL (Hub endpoint or pip index), plus loading, empty and error states.
 */
export function RepositoryList(props: IRepositoryListProps): JSX.Element {
  const { isLoaded, isLoading, error, trans } = props;
  const search = (props.search ?? '').trim().toLowerCase();
  const repositories = search
    ? props.repositories.filter(r =>
        `${r.key} ${r.kind} ${r.description}`.toLowerCase().includes(search)
      )
    : props.repositories;
  const titles: Record<string, string> = {
    hub: trans.__('Hugging Face Hub'),
    pypi: trans.__('PyPI'),
    other: trans.__('Other')
  };
  const groups = new Map<string, ModelVault.IRepository[]>();
  for (const repository of repositories) {
    const family =
      FAMILIES.find(f => repository.kind.startsWith(f.prefix))?.id ?? 'other';
    groups.set(family, [...(groups.get(family) ?? []), repository]);
  }
  const order = [...FAMILIES.map(f => f.id), 'other'].filter(id =>
    groups.has(id)
  );
  return (
    <div className="jp-ModelVault-RepositoryList" aria-busy={isLoading}>
      {props.onSearch && (
        <input
          type="search"
          className="jp-ModelVault-Search jp-mod-styled"
          placeholder={trans.__('Search repositories')}
          aria-label={trans.__('Search repositories')}
          value={props.search ?? ''}
          onChange={event => props.onSearch?.(event.currentTarget.value)}
        />
      )}
      {error && (
        <div
          className="jp-ModelVault-Alert jp-ModelVault-Alert-error"
          role="alert"
        >
          {error}
        </div>
      )}
      {!isLoaded && isLoading && (
        <p className="jp-ModelVault-Placeholder">
          {trans.__('Loading repositories…')}
        </p>
      )}
      {isLoaded && props.repositories.length === 0 && (
        <p className="jp-ModelVault-Placeholder">
          {trans.__('No repositories yet.')}
        </p>
      )}
      {isLoaded &&
        props.repositories.length > 0 &&
        repositories.length === 0 && (
          <p className="jp-ModelVault-Placeholder">
            {trans.__('No repository matches "%1".', props.search ?? '')}
          </p>
        )}
      {order.map(family => (
        <section key={family} className="jp-ModelVault-RepositoryGroup">
          <h3 className="jp-ModelVault-GroupTitle">{titles[family]}</h3>
          <ul
            className="jp-ModelVault-RepositoryList-items"
            aria-label={trans.__('%1 repositories', titles[family])}
          >
            {(groups.get(family) ?? []).map(repository => (
              <RepositoryItem
                key={repository.key}
                repository={repository}
                onCopyUrl={props.onCopyUrl}
                onOpen={props.onOpen}
                trans={trans}
              />
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

/**
 * Properties of the `EndpointRow` component.
 */
export interface IEndpointRowProps {
  /**
   * What the URL is for.
   */
  label: string;
  url: string;
  /**
   * Accessible label and tooltip of the copy button.
   */
  copyLabel: string;
  onCopy: () => void;
}

/**
 * A labelled URL with a copy button.
 */
export function EndpointRow(props: IEndpointRowProps): JSX.Element {
  return (
    <div className="jp-ModelVault-Endpoint">
      <span className="jp-ModelVault-Endpoint-label">{props.label}</span>
      <code className="jp-ModelVault-Endpoint-url" title={props.url}>
        {props.url}
      </code>
      <ToolbarButtonComponent
        className="jp-ModelVault-Endpoint-copy"
        icon={copyIcon}
        tooltip={props.copyLabel}
        onClick={props.onCopy}
      />
    </div>
  );
}

/**
 * Properties of the `RepositoryItem` component.
 */
export interface IRepositoryItemProps {
  repository: ModelVault.IRepository;
  onCopyUrl: (url: string) => void;
  onOpen?: (key: string) => void;
  trans: TranslationBundle;
}

/**
 * One repository of the list.
 */
export function RepositoryItem(props: IRepositoryItemProps): JSX.Element {
  const { repository, trans } = props;
  const hubEndpoint = repository.hub_endpoint;
  const indexUrl = repository.index_url;
  return (
    <li className="jp-ModelVault-RepositoryItem" data-key={repository.key}>
      <div className="jp-ModelVault-RepositoryItem-header">
        {props.onOpen && repository.kind.startsWith('hf-') ? (
          <button
            type="button"
            className="jp-ModelVault-RepositoryItem-key jp-ModelVault-LinkButton"
            title={trans.__('Browse the Hub repos of %1', repository.key)}
            onClick={() => props.onOpen?.(repository.key)}
          >
            {repository.key}
          </button>
        ) : (
          <span className="jp-ModelVault-RepositoryItem-key">
            {repository.key}
          </span>
        )}
        <span
          className="jp-ModelVault-Badge jp-ModelVault-RepositoryItem-kind"
          title={trans.__('Repository kind')}
        >
          {repository.kind}
        </span>
        {repository.public && (
          <span
            className="jp-ModelVault-Badge jp-ModelVault-RepositoryItem-public"
            title={trans.__('Readable without a token')}
          >
            {trans.__('public')}
          </span>
        )}
      </div>
      {repository.description && (
        <p className="jp-ModelVault-RepositoryItem-description">
          {repository.description}
        </p>
      )}
      {hubEndpoint && (
        <EndpointRow
          label={trans.__('Hub endpoint')}
          url={hubEndpoint}
          copyLabel={trans.__(
            'Copy the Hub endpoint URL of %1',
            repository.key
          )}
          onCopy={() => props.onCopyUrl(hubEndpoint)}
        />
      )}
      {indexUrl && (
        <EndpointRow
          label={trans.__('Index URL')}
          url={indexUrl}
          copyLabel={trans.__('Copy the index URL of %1', repository.key)}
          onCopy={() => props.onCopyUrl(indexUrl)}
        />
      )}
    </li>
  );
}
