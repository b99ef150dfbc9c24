import type { TranslationBundle } from '@jupyterlab/translation';
import {
  addBelowIcon,
  copyIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { formatTime, snippetsFor } from '../snippets';
import type { ModelVault } from '../tokens';

/**
 * Properties of the `SetMeUpView` component.
 */
export interface ISetMeUpViewProps {
  repositories: ReadonlyArray<ModelVault.IRepository>;
  /**
   * The chosen repository key (`null`: the first one).
   */
  selected: string | null;
  onSelect: (key: string) => void;
  token: ModelVault.IIssuedToken | null;
  isMinting: boolean;
  isAdmin: boolean;
  onMint: (
    scope: 'read' | 'write',
    expiresInSeconds: number,
    repository: string
  ) => void;
  onForgetToken: () => void;
  onCopy: (text: string, what: string) => void;
  /**
   * Insert a snippet into the active notebook.
   */
  onInsert: (code: string) => void;
  /**
   * Whether a notebook is open to insert into.
   */
  canInsert: boolean;
  trans: TranslationBundle;
}

/**
 * Token lifetimes offered, in seconds.
 */
const TOKEN_EXPIRIES = [1, 7, 30, 90].map(days => ({
  days,
  seconds: days * 24 * 3600
}));

/**
 * The "Set Me Up" section: copyable client configuration for a repository,
 * with a token minted from the panel (shown once, kept in memory only).
 */
export function SetMeUpView(props: ISetMeUpViewProps): JSX.Element {
  const { repositories, token, trans } = props;
  const [scope, setScope] = React.useState<'read' | 'write'>('read');
  const [expiry, setExpiry] = React.useState(TOKEN_EXPIRIES[1].seconds);
  if (repositories.length === 0) {
    return (
      <p className="jp-ModelVault-Placeholder">
        {trans.__('No repositories yet.')}
      </p>
    );
  }
  const repository =
    repositories.find(r => r.key === props.selected) ?? repositories[0];
  const usable =
    token &&
    (token.repositories.length === 0 ||
      token.repositories.includes(repository.key))
      ? token.token
      : null;
  const snippets = snippetsFor(repository, usable);
  return (
    <div className="jp-ModelVault-SetMeUp">
      <label className="jp-ModelVault-Field">
        {trans.__('Repository')}
        <select
          className="jp-mod-styled"
          value={repository.key}
          onChange={event => props.onSelect(event.currentTarget.value)}
        >
          {repositories.map(r => (
            <option key={r.key} value={r.key}>
              {r.key} ({r.kind})
            </option>
          ))}
        </select>
      </label>
      <div className="jp-ModelVault-TokenBox">
        {usable && token ? (
          <>
            <p className="jp-ModelVault-Hint">
              {trans.__(
                'Token "%1" (%2) — copy it now: it is not shown again.',
                token.name,
                token.scope
              )}
              {token.expires_at
                ? ' ' + trans.__('Expires %1.', formatTime(token.expires_at))
                : ''}
            </p>
            <div className="jp-ModelVault-Endpoint">
              <code className="jp-ModelVault-Endpoint-url jp-ModelVault-Token">
                {token.token}
              </code>
              <ToolbarButtonComponent
                className="jp-ModelVault-Endpoint-copy"
                icon={copyIcon}
                tooltip={trans.__('Copy the token')}
                onClick={() => props.onCopy(token.token, trans.__('token'))}
              />
            </div>
            <button
              type="button"
              className="jp-mod-styled"
              onClick={props.onForgetToken}
            >
              {trans.__('Hide token')}
            </button>
          </>
        ) : (
          <div className="jp-ModelVault-Filters">
            <select
              className="jp-mod-styled"
              aria-label={trans.__('Token scope')}
              value={scope}
              onChange={event =>
                setScope(event.currentTarget.value as 'read' | 'write')
              }
            >
              <option value="read">{trans.__('read')}</option>
              <option value="write">{trans.__('write')}</option>
            </select>
            <select
              className="jp-mod-styled"
              aria-label={trans.__('Token lifetime')}
              value={expiry}
              onChange={event => setExpiry(Number(event.currentTarget.value))}
            >
              {TOKEN_EXPIRIES.map(e => (
                <option key={e.seconds} value={e.seconds}>
                  {trans._n('%1 day', '%1 days', e.days)}
                </option>
              ))}
            </select>
            <button
              type="button"
              className="jp-mod-styled jp-mod-accept"
              disabled={props.isMinting || !props.isAdmin}
              title={
                props.isAdmin
                  ? undefined
                  : trans.__('Only vault administrators can mint tokens.')
              }
              onClick={() => props.onMint(scope, expiry, repository.key)}
            >
              {trans.__('Mint token')}
            </button>
          </div>
        )}
      </div>
      {snippets.map(snippet => (
        <figure
          key={snippet.id}
          className="jp-ModelVault-Snippet"
          data-snippet={snippet.id}
        >
          <figcaption>
            <span>{snippet.tool}</span>
            <ToolbarButtonComponent
              className="jp-ModelVault-Endpoint-copy"
              icon={copyIcon}
              tooltip={trans.__('Copy the %1 snippet', snippet.tool)}
              onClick={() => props.onCopy(snippet.code, snippet.tool)}
            />
            <ToolbarButtonComponent
              className="jp-ModelVault-Snippet-insert"
              icon={addBelowIcon}
              enabled={props.canInsert}
              tooltip={
                props.canInsert
                  ? trans.__(
                      'Insert the %1 snippet into the active notebook',
                      snippet.tool
                    )
                  : trans.__('Open a notebook to insert the snippet into it')
              }
              onClick={() => props.onInsert(snippet.code)}
            />
          </figcaption>
          <pre>
            <code>{snippet.code}</code>
          </pre>
        </figure>
      ))}
    </div>
  );
}

/**
 * Properties of the `BundlesView` component.
 */
export interface IBundlesViewProps {
  /**
   * `undefined` before the probe, `null` when the server has no bundles API.
   */
  bundles: ReadonlyArray<ModelVault.IBundle> | null | undefined;
  error: string | null;
  /**
   * Open a bundle's detail (the names become buttons).
   */
  onOpen?: (name: string, version: string) => void;
  trans: TranslationBundle;
}

/**
 * The "Bundles" section: release bundles with their version, environment and
 * digest. A server without the bundles API (`modelvault/api/bundles`) gets a
 * note saying so.
 */
export function BundlesView(props: IBundlesViewProps): JSX.Element {
  const { bundles, trans } = props;
  if (props.error) {
    return (
      <div
        className="jp-ModelVault-Alert jp-ModelVault-Alert-error"
        role="alert"
      >
        {props.error}
      </div>
    );
  }
  if (bundles === undefined) {
    return <p className="jp-ModelVault-Placeholder">{trans.__('Loading…')}</p>;
  }
  if (bundles === null) {
    return (
      <p className="jp-ModelVault-Placeholder jp-ModelVault-BundlesUnavailable">
        {trans.__(
          'This ModelVault server has no bundles API (modelvault/api/bundles): upgrade it to see release bundles here.'
        )}
      </p>
    );
  }
  if (bundles.length === 0) {
    return (
      <p className="jp-ModelVault-Placeholder">
        {trans.__('No release bundles yet.')}
      </p>
    );
  }
  return (
    <ul className="jp-ModelVault-EventList" aria-label={trans.__('Bundles')}>
      {bundles.map(b => (
        <li
          key={`${b.name}@${b.version}`}
          data-bundle={`${b.name}@${b.version}`}
        >
          <div className="jp-ModelVault-Row">
            {props.onOpen ? (
              <button
                type="button"
                className="jp-ModelVault-Row-name jp-ModelVault-LinkButton jp-ModelVault-BundleOpen"
                title={trans.__('Show bundle %1 %2', b.name, b.version)}
                onClick={() => props.onOpen!(b.name, b.version)}
              >
                {b.name} <strong>{b.version}</strong>
              </button>
            ) : (
              <span className="jp-ModelVault-Row-name">
                {b.name} <strong>{b.version}</strong>
              </span>
            )}
            {b.environment && (
              <span className="jp-ModelVault-Badge">{b.environment}</span>
            )}
          </div>
          <div className="jp-ModelVault-Hint">
            {b.digest && (
              <code className="jp-ModelVault-Digest" title={b.digest}>
                {b.digest.slice(0, 19)}
              </code>
            )}{' '}
            {b.created_by}{' '}
            <time className="jp-ModelVault-Time">
              {formatTime(b.created_at)}
            </time>
          </div>
        </li>
      ))}
    </ul>
  );
}
