import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

/**
 * Expiry choices of a waiver, in seconds.
 */
export const WAIVER_EXPIRIES: ReadonlyArray<{ seconds: number; days: number }> =
  [1, 7, 30, 90, 365].map(days => ({ seconds: days * 24 * 3600, days }));

/**
 * Properties of the `WaiverForm` component.
 */
export interface IWaiverFormProps {
  /**
   * The policy the waiver lifts.
   */
  policy: string;
  /**
   * What the waiver applies to, for the user (e.g. a file or a repo).
   */
  target: string;
  /**
   * Grant the waiver; rejects with the server's error.
   */
  onGrant: (justification: string, expiresInSeconds: number) => Promise<void>;
  onCancel: () => void;
  trans: TranslationBundle;
}

/**
 * A form to grant a waiver: justification (required, at least 5 characters) and expiry.
 */
export function WaiverForm(props: IWaiverFormProps): JSX.Element {
  const { trans } = props;
  const [justification, setJustification] = React.useState('');
  const [expiry, setExpiry] = React.useState(WAIVER_EXPIRIES[2].seconds);
  const [busy, setBusy] = React.useState(false);
  const valid = justification.trim().length >= 5;
  return (
    <form
      className="jp-ModelVault-WaiverForm"
      aria-label={trans.__('Grant a waiver')}
      onSubmit={async event => {
        event.preventDefault();
        if (!valid || busy) {
          return;
        }
        setBusy(true);
        try {
          await props.onGrant(justification.trim(), expiry);
        } catch {
          // The caller reports the server's error; the form stays open.
        } finally {
          setBusy(false);
        }
      }}
    >
      <p className="jp-ModelVault-Hint">
        {trans.__('Waive policy "%1" for %2', props.policy, props.target)}
      </p>
      <label className="jp-ModelVault-Field">
        {trans.__('Justification')}
        <textarea
          className="jp-mod-styled"
          rows={2}
          required
          minLength={5}
          value={justification}
          onChange={event => setJustification(event.currentTarget.value)}
        />
      </label>
      <label className="jp-ModelVault-Field">
        {trans.__('Expires in')}
        <select
          className="jp-mod-styled"
          value={expiry}
          onChange={event => setExpiry(Number(event.currentTarget.value))}
        >
          {WAIVER_EXPIRIES.map(e => (
            <option key={e.seconds} value={e.seconds}>
              {trans._n('%1 day', '%1 days', e.days)}
            </option>
          ))}
        </select>
      </label>
      <div className="jp-ModelVault-Actions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept"
          disabled={!valid || busy}
        >
          {trans.__('Grant waiver')}
        </button>
        <button
          type="button"
          className="jp-mod-styled"
          onClick={props.onCancel}
        >
          {trans.__('Cancel')}
        </button>
      </div>
    </form>
  );
}
