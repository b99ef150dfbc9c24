import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { PoliciesAdmin } from './PoliciesAdmin';
import { RepositoriesAdmin } from './RepositoriesAdmin';
import type { IAdminViewProps } from './shared';
import { TokensAdmin } from './TokensAdmin';

/**
 * The tabs of the admin page.
 */
export const ADMIN_TABS = ['repositories', 'policies', 'tokens'] as const;
export type AdminTab = (typeof ADMIN_TABS)[number];

/**
 * The admin page (main-area content): repositories, global policies with
 * their preview, and tokens, as tabs (WAI-ARIA tabs: arrow keys, Home, End).
 */
export class AdminPanel extends ReactWidget {
  constructor(options: AdminPanel.IOptions) {
    super();
    this._options = options;
    this._tab = options.tab ?? 'repositories';
    this.addClass('jp-ModelVault-Admin');
  }

  /**
   * The tab shown.
   */
  get tab(): AdminTab {
    return this._tab;
  }
  set tab(value: AdminTab) {
    this._tab = value;
    this.update();
  }

  protected render(): JSX.Element {
    const { client, trans } = this._options;
    return (
      <AdminTabs
        tab={this._tab}
        onTab={tab => (this.tab = tab)}
        client={client}
        trans={trans}
      />
    );
  }

  private _options: AdminPanel.IOptions;
  private _tab: AdminTab;
}

export namespace AdminPanel {
  export interface IOptions extends IAdminViewProps {
    tab?: AdminTab;
  }
}

function AdminTabs(
  props: IAdminViewProps & { tab: AdminTab; onTab: (tab: AdminTab) => void }
): JSX.Element {
  const { tab, onTab, trans } = props;
  const labels: Record<AdminTab, string> = {
    repositories: trans.__('Repositories'),
    policies: trans.__('Global policies'),
    tokens: trans.__('Tokens')
  };
  const refs = React.useRef<Partial<Record<AdminTab, HTMLButtonElement>>>({});
  const onKeyDown = (event: React.KeyboardEvent) => {
    const at = ADMIN_TABS.indexOf(tab);
    const next: Record<string, number> = {
      ArrowRight: (at + 1) % ADMIN_TABS.length,
      ArrowLeft: (at + ADMIN_TABS.length - 1) % ADMIN_TABS.length,
      Home: 0,
      End: ADMIN_TABS.length - 1
    };
    if (!(event.key in next)) {
      return;
    }
    event.preventDefault();
    const target = ADMIN_TABS[next[event.key]];
    onTab(target);
    refs.current[target]?.focus();
  };
  return (
    <div className="jp-ModelVault-AdminBody">
      <h1>{trans.__('ModelVault administration')}</h1>
      <div
        role="tablist"
        aria-label={trans.__('Administration')}
        className="jp-ModelVault-AdminTabs"
        onKeyDown={onKeyDown}
      >
        {ADMIN_TABS.map(t => (
          <button
            key={t}
            ref={el => {
              refs.current[t] = el ?? undefined;
            }}
            id={`jp-ModelVault-AdminTab-${t}`}
            role="tab"
            type="button"
            aria-selected={t === tab}
            aria-controls={`jp-ModelVault-AdminPanel-${t}`}
            tabIndex={t === tab ? 0 : -1}
            className="jp-ModelVault-AdminTab"
            onClick={() => onTab(t)}
          >
            {labels[t]}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id={`jp-ModelVault-AdminPanel-${tab}`}
        aria-labelledby={`jp-ModelVault-AdminTab-${tab}`}
        className="jp-ModelVault-AdminTabPanel"
        data-tab={tab}
      >
        {tab === 'repositories' && <RepositoriesAdmin {...props} />}
        {tab === 'policies' && <PoliciesAdmin {...props} />}
        {tab === 'tokens' && <TokensAdmin {...props} />}
      </div>
    </div>
  );
}
