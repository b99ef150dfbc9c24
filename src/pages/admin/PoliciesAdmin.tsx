import * as React from 'react';

import type { Admin } from '../../api/admin';
import { describeError } from '../../api/request';
import { confirmAction } from '../../dialogs/confirm';
import { parsePolicyList } from './forms';
import { AdminMessages, AdminTable } from './AdminTable';
import { IAdminViewProps, useLoaded } from './shared';

/**
 * The policy list as the editor shows it: the summaries are the server's
 * reading of each policy, shown beside the editor, not edited.
 */
export function editableText(policies: ReadonlyArray<Admin.IPolicy>): string {
  return JSON.stringify(
    policies.map(({ summary: _summary, ...rest }) => rest),
    null,
    2
  );
}

/**
 * The global policy editor: edit the list as JSON, preview what it would
 * block among what the vault holds (nothing saved), then save it behind a
 * confirmation that repeats what the preview found.
 */
export function PoliciesAdmin(props: IAdminViewProps): JSX.Element {
  const { client, trans } = props;
  const load = React.useCallback(() => client.listPolicies(), [client]);
  const stored = useLoaded<Admin.IPolicy[]>(load, []);
  const [text, setText] = React.useState<string | null>(null);
  const [preview, setPreview] = React.useState<{
    text: string;
    result: Admin.IPolicyPreview;
  } | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [status, setStatus] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);

  const current = text ?? editableText(stored.value);
  const previewed = preview !== null && preview.text === current;

  const run = async (what: () => Promise<void>) => {
    setBusy(true);
    try {
      await what();
      setError(null);
    } catch (reason) {
      setError(describeError(reason));
    }
    setBusy(false);
  };

  const doPreview = () =>
    run(async () => {
      const result = await client.previewPolicies(parsePolicyList(current));
      setPreview({ text: current, result });
      setStatus(null);
    });

  const doSave = () =>
    run(async () => {
      const policies = parsePolicyList(current);
      const counts = preview?.result.counts;
      const ok = await confirmAction({
        title: trans.__('Save global policies?'),
        body: trans.__(
          'The new policies apply to every download at once: %1 newly blocked, %2 unblocked (as previewed). The change is audited.',
          counts?.['newly-blocked'] ?? 0,
          counts?.unblocked ?? 0
        ),
        action: trans.__('Save policies'),
        trans
      });
      if (!ok) {
        return;
      }
      await client.setPolicies(policies);
      setText(null);
      setPreview(null);
      setStatus(trans.__('Global policies saved.'));
      await stored.reload();
    });

  return (
    <section
      className="jp-ModelVault-AdminSection jp-ModelVault-AdminPolicies"
      aria-busy={stored.loading || busy}
    >
      <div className="jp-ModelVault-AdminColumns">
        <div className="jp-ModelVault-AdminColumn">
          <label
            className="jp-ModelVault-AdminLabel"
            htmlFor="jp-ModelVault-PolicyText"
          >
            {trans.__('Global policies (JSON list)')}
          </label>
          <textarea
            id="jp-ModelVault-PolicyText"
            className="jp-ModelVault-PolicyText"
            spellCheck={false}
            rows={18}
            value={current}
            aria-describedby="jp-ModelVault-PolicyHelp"
            onChange={e => setText(e.target.value)}
          />
          <p id="jp-ModelVault-PolicyHelp" className="jp-ModelVault-AdminNote">
            {trans.__(
              'Each policy: name, kind (scan, license, custom-code), action (block, warn, audit), params. A default policy is switched off only by listing it with "enabled": false.'
            )}
          </p>
          <div className="jp-ModelVault-AdminToolbar">
            <button
              type="button"
              className="jp-mod-styled jp-mod-accept"
              disabled={busy}
              onClick={() => void doPreview()}
            >
              {trans.__('Preview')}
            </button>
            <button
              type="button"
              className="jp-mod-styled jp-mod-warn"
              disabled={busy || !previewed}
              title={
                previewed
                  ? undefined
                  : trans.__('Preview the change before saving it')
              }
              onClick={() => void doSave()}
            >
              {trans.__('Save')}
            </button>
            <button
              type="button"
              className="jp-mod-styled"
              disabled={busy || text === null}
              onClick={() => {
                setText(null);
                setPreview(null);
              }}
            >
              {trans.__('Discard changes')}
            </button>
          </div>
          <AdminMessages error={error ?? stored.error} status={status} />
        </div>
        <div className="jp-ModelVault-AdminColumn">
          <h2>{trans.__('In force now')}</h2>
          <ul className="jp-ModelVault-PolicySummaries">
            {stored.value.map(p => (
              <li key={p.name}>
                <strong>{p.name}</strong>{' '}
                <span className="jp-ModelVault-AdminNote">
                  {p.summary ?? ''}
                </span>
              </li>
            ))}
          </ul>
        </div>
      </div>
      {preview && (
        <PreviewView result={preview.result} stale={!previewed} trans={trans} />
      )}
    </section>
  );
}

function PreviewView(props: {
  result: Admin.IPolicyPreview;
  stale: boolean;
  trans: IAdminViewProps['trans'];
}): JSX.Element {
  const { result, stale, trans } = props;
  const changes: Array<[Admin.IPolicyPreviewItem['change'], string]> = [
    ['newly-blocked', trans.__('Newly blocked')],
    ['unblocked', trans.__('Unblocked')],
    ['still-blocked', trans.__('Still blocked')]
  ];
  const label = Object.fromEntries(changes);
  return (
    <section
      className="jp-ModelVault-PolicyPreview"
      aria-label={trans.__('Preview of the change')}
      data-stale={stale}
    >
      <h2>
        {trans.__('Preview')}
        {stale && (
          <span className="jp-ModelVault-AdminNote">
            {' '}
            {trans.__('(the text changed since: preview again)')}
          </span>
        )}
      </h2>
      <p className="jp-ModelVault-PolicyPreviewCounts">
        {changes.map(([key, text]) => (
          <span key={key} data-change={key}>
            {text}: <strong>{result.counts[key]}</strong>
          </span>
        ))}
        <span>
          {trans.__(
            'Checked %1 repos, %2 files',
            result.checked.repos,
            result.checked.files
          )}
          {result.truncated ? trans.__(' (bounded: not everything)') : ''}
        </span>
      </p>
      {result.items.length === 0 ? (
        <p className="jp-ModelVault-Placeholder">
          {trans.__('These policies block nothing the vault holds.')}
        </p>
      ) : (
        <AdminTable
          label={trans.__('What the change would block')}
          columns={[
            trans.__('Change'),
            trans.__('Repository'),
            trans.__('Repo'),
            trans.__('File'),
            trans.__('Policy'),
            trans.__('Reason')
          ]}
        >
          {result.items.map((item, i) => (
            <tr key={i} data-change={item.change}>
              <td>{label[item.change]}</td>
              <td>{item.repository}</td>
              <td>{item.repo_id}</td>
              <td>{item.path ?? trans.__('(whole repo)')}</td>
              <td>{item.policy}</td>
              <td>{item.reason}</td>
            </tr>
          ))}
        </AdminTable>
      )}
    </section>
  );
}
