import * as React from 'react';

import type { Admin } from '../../api/admin';
import { describeError } from '../../api/request';
import { SelectField, TextField } from '../../components/Field';
import { Confirm } from '../../dialogs/confirm';
import {
  configOf,
  draftOf,
  IRepositoryDraft,
  isRemote,
  isVirtual,
  memberCandidates,
  moveMember,
  REPOSITORY_KINDS
} from './forms';
import { AdminMessages, AdminTable } from './AdminTable';
import { IAdminViewProps, useLoaded } from './shared';

/**
 * Repositories: the list, a form to create one, and the same form to
 * configure an existing one (upstream, members, policy overrides), with a
 * confirmed delete.
 */
export function RepositoriesAdmin(props: IAdminViewProps): JSX.Element {
  const { client, trans } = props;
  const load = React.useCallback(() => client.listRepositories(), [client]);
  const repos = useLoaded<Admin.IRepository[]>(load, []);
  // `null`: a new repository; otherwise the key being configured.
  const [editing, setEditing] = React.useState<string | null>(null);
  const [draft, setDraft] = React.useState<IRepositoryDraft>(draftOf());
  const [error, setError] = React.useState<string | null>(null);
  const [status, setStatus] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const existing = repos.value.find(r => r.key === editing);

  const edit = (repository: Admin.IRepository | null) => {
    setEditing(repository?.key ?? null);
    setDraft(draftOf(repository ?? undefined));
    setError(null);
    setStatus(null);
  };

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const config = configOf(
        draft,
        existing?.config as Record<string, unknown> | undefined
      );
      if (existing) {
        await client.updateRepository(existing.key, {
          description: draft.description,
          public: draft.public,
          config
        });
        setStatus(trans.__('Repository "%1" saved.', existing.key));
      } else {
        const created = await client.createRepository({
          key: draft.key.trim(),
          kind: draft.kind,
          description: draft.description,
          public: draft.public,
          config
        });
        setStatus(trans.__('Repository "%1" created.', created.key));
        setEditing(created.key);
        setDraft(draftOf(created));
      }
      setError(null);
      await repos.reload();
    } catch (reason) {
      setError(describeError(reason));
    }
    setBusy(false);
  };

  const remove = async (repository: Admin.IRepository) => {
    const ok = await Confirm.deletion(
      trans,
      trans.__('repository "%1" and everything in it', repository.key)
    );
    if (!ok) {
      return;
    }
    try {
      await client.deleteRepository(repository.key);
      setStatus(trans.__('Repository "%1" deleted.', repository.key));
      setError(null);
      if (editing === repository.key) {
        edit(null);
      }
    } catch (reason) {
      setError(describeError(reason));
    }
    await repos.reload();
  };

  const set = (change: Partial<IRepositoryDraft>) =>
    setDraft({ ...draft, ...change });
  const candidates = memberCandidates(draft.kind, repos.value).filter(
    k => k !== editing
  );

  return (
    <section
      className="jp-ModelVault-AdminSection jp-ModelVault-AdminColumns"
      aria-busy={repos.loading || busy}
    >
      <div className="jp-ModelVault-AdminColumn">
        <div className="jp-ModelVault-AdminToolbar">
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept"
            onClick={() => edit(null)}
          >
            {trans.__('New repository')}
          </button>
        </div>
        <AdminTable
          label={trans.__('Repositories')}
          columns={[
            trans.__('Key'),
            trans.__('Kind'),
            trans.__('Upstream or members'),
            trans.__('Overrides')
          ]}
          actions={trans.__('Actions')}
        >
          {repos.value.map(r => {
            const config = r.config as Record<string, unknown>;
            const overrides = Array.isArray(config.policies)
              ? config.policies.length
              : 0;
            return (
              <tr
                key={r.key}
                data-repository={r.key}
                aria-current={r.key === editing ? 'true' : undefined}
              >
                <th scope="row">{r.key}</th>
                <td>{r.kind}</td>
                <td>
                  {isVirtual(r.kind) && Array.isArray(config.members)
                    ? config.members.join(' → ')
                    : String(config.upstream ?? '')}
                </td>
                <td>{overrides || ''}</td>
                <td className="jp-ModelVault-AdminActions">
                  <button
                    type="button"
                    className="jp-mod-styled"
                    aria-label={trans.__('Configure %1', r.key)}
                    onClick={() => edit(r)}
                  >
                    {trans.__('Configure')}
                  </button>
                  <button
                    type="button"
                    className="jp-mod-styled jp-mod-warn"
                    aria-label={trans.__('Delete %1', r.key)}
                    onClick={() => void remove(r)}
                  >
                    {trans.__('Delete')}
                  </button>
                </td>
              </tr>
            );
          })}
        </AdminTable>
        <AdminMessages error={repos.error} />
      </div>
      <form
        className="jp-ModelVault-AdminColumn jp-ModelVault-AdminForm"
        aria-label={
          existing
            ? trans.__('Configure repository %1', existing.key)
            : trans.__('New repository')
        }
        onSubmit={e => void submit(e)}
      >
        <h2>
          {existing
            ? trans.__('Configure %1', existing.key)
            : trans.__('New repository')}
        </h2>
        <TextField
          label={trans.__('Key')}
          name="key"
          required
          pattern="[a-z0-9][a-z0-9._\-]{0,62}"
          value={draft.key}
          readOnly={!!existing}
          onChange={key => set({ key })}
        />
        <SelectField
          label={trans.__('Kind')}
          name="kind"
          value={draft.kind}
          disabled={!!existing}
          options={REPOSITORY_KINDS.map(k => ({ value: k, text: k }))}
          onChange={kind =>
            set({ kind: kind as Admin.RepositoryKind, members: [] })
          }
        />
        <TextField
          label={trans.__('Description')}
          name="description"
          value={draft.description}
          onChange={description => set({ description })}
        />
        <label className="jp-ModelVault-AdminCheck">
          <input
            type="checkbox"
            name="public"
            checked={draft.public}
            onChange={e => set({ public: e.target.checked })}
          />{' '}
          {trans.__('Public (readable without a token)')}
        </label>
        {isRemote(draft.kind) && (
          <fieldset>
            <legend>{trans.__('Remote upstream')}</legend>
            <TextField
              label={trans.__('Upstream URL')}
              name="upstream"
              type="url"
              placeholder="https://huggingface.co"
              value={draft.upstream}
              onChange={upstream => set({ upstream })}
            />
            <TextField
              label={
                existing
                  ? trans.__('New upstream token (empty: keep the stored one)')
                  : trans.__('Upstream token (optional)')
              }
              name="upstream_token"
              type="password"
              autoComplete="off"
              value={draft.upstreamToken}
              onChange={upstreamToken => set({ upstreamToken })}
            />
          </fieldset>
        )}
        {isVirtual(draft.kind) && (
          <fieldset>
            <legend>{trans.__('Members, in resolution order')}</legend>
            {candidates.length === 0 && draft.members.length === 0 && (
              <p className="jp-ModelVault-AdminNote">
                {trans.__('Create a local or remote repository first.')}
              </p>
            )}
            <ul className="jp-ModelVault-AdminMembers">
              {[
                ...draft.members,
                ...candidates.filter(k => !draft.members.includes(k))
              ].map(key => {
                const at = draft.members.indexOf(key);
                return (
                  <li key={key}>
                    <label className="jp-ModelVault-AdminCheck">
                      <input
                        type="checkbox"
                        checked={at >= 0}
                        onChange={e =>
                          set({
                            members: e.target.checked
                              ? [...draft.members, key]
                              : draft.members.filter(m => m !== key)
                          })
                        }
                      />{' '}
                      {key}
                    </label>
                    {at >= 0 && (
                      <>
                        <button
                          type="button"
                          className="jp-mod-styled"
                          aria-label={trans.__('Move %1 up', key)}
                          disabled={at === 0}
                          onClick={() =>
                            set({ members: moveMember(draft.members, key, -1) })
                          }
                        >
                          ↑
                        </button>
                        <button
                          type="button"
                          className="jp-mod-styled"
                          aria-label={trans.__('Move %1 down', key)}
                          disabled={at === draft.members.length - 1}
                          onClick={() =>
                            set({ members: moveMember(draft.members, key, 1) })
                          }
                        >
                          ↓
                        </button>
                      </>
                    )}
                  </li>
                );
              })}
            </ul>
          </fieldset>
        )}
        <label>
          {trans.__(
            'Policy overrides (JSON list, by name; empty: the global policies)'
          )}
          <textarea
            className="jp-ModelVault-PolicyText"
            name="policies"
            rows={6}
            spellCheck={false}
            placeholder='[{"name": "approved-licenses", "action": "warn"}]'
            value={draft.policies}
            onChange={e => set({ policies: e.target.value })}
          />
        </label>
        <div className="jp-ModelVault-AdminToolbar">
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept"
            disabled={busy}
          >
            {existing ? trans.__('Save') : trans.__('Create')}
          </button>
        </div>
        <AdminMessages error={error} status={status} />
      </form>
    </section>
  );
}
