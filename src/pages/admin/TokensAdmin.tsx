import * as React from 'react';

import type { Admin } from '../../api/admin';
import { describeError } from '../../api/request';
import { Confirm } from '../../dialogs/confirm';
import { formatTime } from '../../snippets';
import { AdminMessages, AdminTable } from './AdminTable';
import { IAdminViewProps, useLoaded } from './shared';

/**
 * A token's state now.
 */
export function tokenState(
  token: Admin.IToken,
  now: number = Date.now() / 1000
): 'revoked' | 'expired' | 'active' {
  if (token.revoked_at !== null) {
    return 'revoked';
  }
  if (token.expires_at !== null && token.expires_at <= now) {
    return 'expired';
  }
  return 'active';
}

/**
 * Every token of the vault, with a Revoke action behind a confirmation.
 */
export function TokensAdmin(props: IAdminViewProps): JSX.Element {
  const { client, trans } = props;
  const load = React.useCallback(() => client.listTokens(), [client]);
  const tokens = useLoaded<Admin.IToken[]>(load, []);
  const [showInactive, setShowInactive] = React.useState(false);
  const [status, setStatus] = React.useState<string | null>(null);
  const [error, setError] = React.useState<string | null>(null);

  const revoke = async (token: Admin.IToken) => {
    if (!(await Confirm.tokenRevocation(trans, token.name || token.id))) {
      return;
    }
    try {
      await client.revokeToken(token.id);
      setError(null);
      setStatus(trans.__('Token "%1" revoked.', token.name || token.id));
    } catch (reason) {
      setError(describeError(reason));
    }
    await tokens.reload();
  };

  const shown = tokens.value.filter(
    t => showInactive || tokenState(t) === 'active'
  );
  return (
    <section className="jp-ModelVault-AdminSection" aria-busy={tokens.loading}>
      <div className="jp-ModelVault-AdminToolbar">
        <label>
          <input
            type="checkbox"
            checked={showInactive}
            onChange={e => setShowInactive(e.target.checked)}
          />{' '}
          {trans.__('Show revoked and expired tokens')}
        </label>
        <button
          type="button"
          className="jp-mod-styled"
          onClick={() => void tokens.reload()}
        >
          {trans.__('Refresh')}
        </button>
      </div>
      <AdminMessages error={error ?? tokens.error} status={status} />
      <AdminTable
        label={trans.__('Tokens')}
        columns={[
          trans.__('Name'),
          trans.__('User'),
          trans.__('Scope'),
          trans.__('Repositories'),
          trans.__('Created'),
          trans.__('Expires'),
          trans.__('State')
        ]}
        actions={trans.__('Actions')}
      >
        {shown.map(t => {
          const state = tokenState(t);
          return (
            <tr key={t.id} data-token={t.id}>
              <td>
                {t.name || t.id}
                {t.parent && (
                  <span className="jp-ModelVault-AdminNote">
                    {' '}
                    {trans.__('(minted by %1)', t.parent)}
                  </span>
                )}
              </td>
              <td>{t.user}</td>
              <td>{t.scope}</td>
              <td>{t.repositories.join(', ') || trans.__('all')}</td>
              <td>{formatTime(t.created_at)}</td>
              <td>{formatTime(t.expires_at) || trans.__('never')}</td>
              <td data-state={state}>{state}</td>
              <td className="jp-ModelVault-AdminActions">
                {state !== 'revoked' && (
                  <button
                    type="button"
                    className="jp-mod-styled jp-mod-warn"
                    aria-label={trans.__('Revoke token %1', t.name || t.id)}
                    onClick={() => void revoke(t)}
                  >
                    {trans.__('Revoke')}
                  </button>
                )}
              </td>
            </tr>
          );
        })}
      </AdminTable>
      {!tokens.loading && shown.length === 0 && (
        <p className="jp-ModelVault-Placeholder">{trans.__('No tokens.')}</p>
      )}
    </section>
  );
}
