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
   * The translation bundle.
   */
  trans: TranslationBundle;
}

/**
 * The "Repositories" section: one entry per repository with its key, kind and
 * client URL (Hub endpoint or pip index), plus loading, empty and error states.
 */
export function RepositoryList(props: IRepositoryListProps): JSX.Element {
  const { repositories, isLoaded, isLoading, error, trans } = props;
  return (
    <div className="jp-ModelVault-RepositoryList" aria-busy={isLoading}>
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
      {isLoaded && repositories.length === 0 && (
        <p className="jp-ModelVault-Placeholder">
          {trans.__('No repositories yet.')}
        </p>
      )}
      {repositories.length > 0 && (
        <ul
          className="jp-ModelVault-RepositoryList-items"
          aria-label={trans.__('Repositories')}
        >
          {repositories.map(repository => (
            <RepositoryItem
              key={repository.key}
              repository={repository}
              onCopyUrl={props.onCopyUrl}
              trans={trans}
            />
          ))}
        </ul>
      )}
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
        <span className="jp-ModelVault-RepositoryItem-key">
          {repository.key}
        </span>
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
