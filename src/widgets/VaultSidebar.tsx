import { Clipboard, Notification } from '@jupyterlab/apputils';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import {
  CommandToolbarButton,
  PanelWithToolbar,
  ReactWidget,
  SidePanel,
  UseSignal
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import { AccordionPanel, Widget } from '@lumino/widgets';
import * as React from 'react';

import { bundleViolations } from '../api/client';
import { describeError } from '../api/request';
import { ActivityView } from '../components/ActivityView';
import { BundleDetailView, BundleWizard } from '../components/BundlesPanel';
import { FileList, HubRepoList } from '../components/RepositoryBrowser';
import { ModelPageCommandIDs } from '../pages/model/commands';
import { RepositoryList } from '../components/RepositoryList';
import { ServerStatusBanner } from '../components/ServerStatusBanner';
import { BundlesView, SetMeUpView } from '../components/SetMeUpView';
import { VerdictView } from '../components/VerdictView';
import { ViolationsView } from '../components/ViolationsView';
import { mark } from '../models/polling';
import type { VaultModel } from '../models/VaultModel';
import { CommandIDs, ModelVault } from '../tokens';

/**
 * The sections of the sidebar, in order.
 */
export type SectionId =
  | 'repositories'
  | 'verdicts'
  | 'violations'
  | 'set-me-up'
  | 'bundles'
  | 'activity';

const SECTIONS: ReadonlyArray<SectionId> = [
  'repositories',
  'verdicts',
  'violations',
  'set-me-up',
  'bundles',
  'activity'
];

/**
 * The ModelVault left-sidebar panel.
 *
 * Header: title and server status banner; toolbar: refresh; content: one
 * accordion section per area of the vault: Repositories (browse repositories,
 * Hub repos and files), Verdicts (the selected file's scan), Violations
 * (blocks, flagged files, waivers, audit), Set Me Up (client snippets and
 * tokens), Bundles and Activity (transfers and exports in progress). The panel refreshes its model each time it is shown and
 * puts the polls on standby while hidden.
 */
export class VaultSidebar extends SidePanel {
  /**
   * Create the sidebar.
   */
  constructor(options: VaultSidebar.IOptions) {
    const translator = options.translator ?? nullTranslator;
    super({ translator });
    this._model = options.model;
    this._commands = options.commands; // opens the model page (issue #19)
    // SidePanel's own bundle is only used in its constructor: reuse the property.
    this._trans = translator.load('modelvault_jlab');
    this.addClass('jp-ModelVault-Sidebar');

    this.header.addWidget(Private.createTitle(this._trans.__('ModelVault')));
    this.header.addWidget(this._createStatusBanner());

    this.toolbar.addItem(
      'refresh',
      new CommandToolbarButton({
        commands: options.commands,
        id: CommandIDs.refresh,
        label: ''
      })
    );

    this.addWidget(this._createRepositoriesSection());
    this.addWidget(this._createVerdictsSection());
    this.addWidget(this._createViolationsSection());
    this.addWidget(this._createSetMeUpSection());
    this.addWidget(this._createBundlesSection());
    this.addWidget(this._createActivitySection());
    // Repositories open; the others open on demand (selection, commands, a click).
    const accordion = this.content as AccordionPanel;
    for (let i = 1; i < SECTIONS.length; i++) {
      accordion.collapse(i);
    }
    accordion.expansionToggled.connect(this._onExpansionToggled, this);

    this._model.browser.fileSelected.connect(this._onFileSelected, this);
    this._model.activity.failed.connect(this._onActivityFailed, this);
    this._model.refreshStandby = () => this.isHidden;
  }

  /**
   * The model shown by the sidebar.
   */
  get model(): VaultModel {
    return this._model;
  }

  /**
   * Expand a section (it keeps the others as they are).
   */
  showSection(id: SectionId): void {
    const index = SECTIONS.indexOf(id);
    const panel = this.content as AccordionPanel;
    if (index >= 0 && panel.widgets[index]?.isHidden) {
      panel.expand(index);
    }
    if (id === 'violations') {
      void this._model.violations.loadAudit();
    }
  }

  /**
   * Focus the repository search box.
   */
  focusSearch(): void {
    this.showSection('repositories');
    if (this._model.browser.repository) {
      void this._model.browser.openRepository(null);
    }
    requestAnimationFrame(() => {
      this.node
        .querySelector<HTMLInputElement>(
          '.jp-ModelVault-RepositoryList .jp-ModelVault-Search'
        )
        ?.focus();
    });
  }

  /**
   * Refresh when the panel is about to be shown.
   */
  protected onBeforeShow(msg: Message): void {
    super.onBeforeShow(msg);
    void this._model.refresh();
  }

  /**
   * Dispose of the sidebar and disconnect from the model.
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    Signal.clearData(this);
    super.dispose();
  }

  /**
   * A section collapsed before the panel was laid out has no size to come back
   * to: when a section opens, share the height evenly between the open sections.
   */
  private _commands: CommandRegistry;

  private _onExpansionToggled(panel: AccordionPanel, index: number): void {
    const widget = panel.widgets[index];
    if (!widget || widget.isHidden) {
      return;
    }
    panel.setRelativeSizes(panel.widgets.map(w => (w.isHidden ? 0 : 1)));
  }

  private _onFileSelected(_: unknown, file: ModelVault.IRepoFile | null): void {
    if (file) {
      this.showSection('verdicts');
    }
  }

  private _onActivityFailed(_: unknown, op: ModelVault.IActivity): void {
    Notification.error(
      this._trans.__('ModelVault: %1 failed: %2', op.subject, op.message ?? ''),
      { autoClose: 8000 }
    );
  }

  private _createActivitySection(): PanelWithToolbar {
    const activity = this._model.activity;
    const trans = this._trans;
    const body = ReactWidget.create(
      <UseSignal signal={activity.changed}>
        {() => (
          <ActivityView
            operations={activity.operations}
            isLoaded={activity.isLoaded}
            error={activity.error}
            trans={trans}
          />
        )}
      </UseSignal>
    );
    const section = this._section('activity', trans.__('Activity'), body);
    // The count shows on the collapsed section's title, so a transfer is noticed.
    activity.changed.connect(() => {
      const count = activity.operations.length;
      section.title.label = count
        ? trans.__('Activity (%1)', count)
        : trans.__('Activity');
    }, section);
    return section;
  }

  private _createStatusBanner(): Widget {
    const model = this._model;
    // Read the model when rendering: the status may change before the panel is first shown.
    const banner = ReactWidget.create(
      <UseSignal signal={model.serverStatusChanged}>
        {() => (
          <ServerStatusBanner status={model.serverStatus} trans={this._trans} />
        )}
      </UseSignal>
    );
    banner.addClass('jp-ModelVault-StatusBanner');
    return banner;
  }

  private _section(
    id: SectionId,
    label: string,
    body: Widget
  ): PanelWithToolbar {
    const section = new PanelWithToolbar();
    section.id = `modelvault-${id}`;
    section.title.label = label;
    section.addClass('jp-ModelVault-Section');
    body.addClass('jp-ModelVault-SectionBody');
    section.addWidget(body);
    return section;
  }

  private _createRepositoriesSection(): PanelWithToolbar {
    const repositories = this._model.repositories;
    const browser = this._model.browser;
    const trans = this._trans;
    const Body = (): JSX.Element => {
      const [search, setSearch] = React.useState('');
      const repo = browser.repo;
      const key = browser.repository;
      if (key && repo) {
        return (
          <>
            <button
              className="jp-mod-styled jp-ModelVault-OpenPage"
              onClick={() =>
                void this._commands.execute(ModelPageCommandIDs.open, {
                  repository: key,
                  repoType: repo.repoType,
                  repoId: repo.repoId
                })
              }
            >
              {trans.__('Open model page')}
            </button>
            <FileList
              repository={key}
              repo={repo}
              summary={browser.summary}
              files={browser.files}
              selectedPath={browser.file?.path ?? null}
              onNavigate={level =>
                level === 0 ? void browser.openRepository(null) : browser.back()
              }
              onRevision={revision =>
                void this._notifyFailure(
                  browser.openRepo(repo.repoType, repo.repoId, revision),
                  () => browser.files.error
                )
              }
              onLoadMore={() =>
                void this._notifyFailure(
                  browser.loadMoreFiles(),
                  () => browser.files.error
                )
              }
              onSelect={file => void browser.selectFile(file)}
              onRendered={() => mark('modelvault:files-rendered')}
              trans={trans}
            />
          </>
        );
      }
      if (key) {
        return (
          <HubRepoList
            repository={key}
            hubType={browser.hubType}
            repos={browser.hubRepos}
            onBack={() => browser.back()}
            onSetType={type => void browser.setHubType(type)}
            onLoadMore={() =>
              void this._notifyFailure(
                browser.loadMoreHubRepos(),
                () => browser.hubRepos.error
              )
            }
            onOpen={(type, id) =>
              void this._notifyFailure(
                browser.openRepo(type, id),
                () => browser.files.error
              )
            }
            onRendered={() => mark('modelvault:hub-repos-rendered')}
            trans={trans}
          />
        );
      }
      return (
        <RepositoryList
          repositories={repositories.items}
          isLoaded={repositories.isLoaded}
          isLoading={repositories.isLoading}
          error={repositories.error}
          onCopyUrl={url => this._copy(url, url)}
          onOpen={repositoryKey =>
            void this._notifyFailure(
              browser.openRepository(repositoryKey),
              () => browser.hubRepos.error
            )
          }
          search={search}
          onSearch={setSearch}
          trans={trans}
        />
      );
    };
    const body = ReactWidget.create(
      <UseSignal signal={repositories.changed}>
        {() => <UseSignal signal={browser.changed}>{() => <Body />}</UseSignal>}
      </UseSignal>
    );
    return this._section('repositories', trans.__('Repositories'), body);
  }

  private _createVerdictsSection(): PanelWithToolbar {
    const browser = this._model.browser;
    const trans = this._trans;
    const body = ReactWidget.create(
      <UseSignal signal={browser.changed}>
        {() => (
          <VerdictView
            file={browser.file}
            scan={browser.scan}
            loading={browser.scanLoading}
            error={browser.scanError}
            isAdmin={this._model.isAdmin}
            onRescan={() => void this._rescan()}
            onGrantWaiver={(policy, justification, seconds) =>
              this._grant({
                policy,
                sha256: browser.file?.sha256,
                justification,
                expires_in_seconds: seconds
              })
            }
            trans={trans}
          />
        )}
      </UseSignal>
    );
    return this._section('verdicts', trans.__('Verdicts'), body);
  }

  private _createViolationsSection(): PanelWithToolbar {
    const violations = this._model.violations;
    const trans = this._trans;
    const body = ReactWidget.create(
      <UseSignal signal={violations.changed}>
        {() => (
          <ViolationsView
            events={violations.events}
            flaggedBlobs={violations.flaggedBlobs}
            waivers={violations.waivers}
            policies={violations.policies}
            auditEvents={violations.auditEvents}
            auditSubject={violations.auditSubject}
            auditError={violations.auditError}
            isLoaded={violations.isLoaded}
            isLoading={violations.isLoading}
            error={violations.error}
            isAdmin={this._model.isAdmin}
            onGrant={request => this._grant(request)}
            onRevoke={id => void this._revoke(id)}
            onAudit={subject => void violations.loadAudit(subject)}
            trans={trans}
          />
        )}
      </UseSignal>
    );
    return this._section('violations', trans.__('Violations'), body);
  }

  private _createSetMeUpSection(): PanelWithToolbar {
    const setMeUp = this._model.setMeUp;
    const repositories = this._model.repositories;
    const trans = this._trans;
    const body = ReactWidget.create(
      <UseSignal signal={repositories.changed}>
        {() => (
          <UseSignal signal={setMeUp.changed}>
            {() => (
              <SetMeUpView
                repositories={repositories.items}
                selected={setMeUp.repository}
                onSelect={key => (setMeUp.repository = key)}
                token={setMeUp.token}
                isMinting={setMeUp.isMinting}
                isAdmin={this._model.isAdmin}
                onMint={(scope, seconds, key) =>
                  void this._mint(scope, seconds, key)
                }
                onForgetToken={() => setMeUp.clearToken()}
                onCopy={(text, what) => this._copy(text, what)}
                trans={trans}
              />
            )}
          </UseSignal>
        )}
      </UseSignal>
    );
    return this._section('set-me-up', trans.__('Set Me Up'), body);
  }

  private _createBundlesSection(): PanelWithToolbar {
    const setMeUp = this._model.setMeUp;
    const bundles = this._model.bundles;
    const repositories = this._model.repositories;
    const trans = this._trans;
    const render = (): JSX.Element => {
      if (bundles.isWizardOpen) {
        return (
          <BundleWizard
            repositories={repositories.items}
            source={bundles}
            onCreate={request => this._createBundle(request)}
            onCancel={() => (bundles.isWizardOpen = false)}
            trans={trans}
          />
        );
      }
      if (bundles.detail || bundles.isLoading || bundles.error) {
        return (
          <BundleDetailView
            detail={bundles.detail}
            isLoading={bundles.isLoading}
            error={bundles.error}
            verifyReport={bundles.verifyReport}
            busy={bundles.busy}
            isAdmin={this._model.isAdmin}
            nextEnvironment={bundles.nextEnvironment}
            onBack={() => bundles.close()}
            onVerify={() => void this._bundleAction(() => bundles.verify())}
            onPromote={() => void this._promoteBundle()}
            onDownload={what => void this._downloadBundle(what)}
            trans={trans}
          />
        );
      }
      return (
        <>
          <div className="jp-ModelVault-Actions">
            <button
              type="button"
              className="jp-mod-styled jp-ModelVault-CreateBundle"
              disabled={setMeUp.bundles === null}
              onClick={() => (bundles.isWizardOpen = true)}
            >
              {trans.__('Create bundle…')}
            </button>
          </div>
          <BundlesView
            bundles={setMeUp.bundles}
            error={setMeUp.bundlesError}
            onOpen={(name, version) => void bundles.open(name, version)}
            trans={trans}
          />
        </>
      );
    };
    const body = ReactWidget.create(
      <UseSignal signal={setMeUp.changed}>
        {() => (
          <UseSignal signal={bundles.changed}>
            {() => (
              <UseSignal signal={repositories.changed}>{render}</UseSignal>
            )}
          </UseSignal>
        )}
      </UseSignal>
    );
    return this._section('bundles', trans.__('Bundles'), body);
  }

  /**
   * Show the Bundles section with the "Create bundle" wizard.
   */
  openBundleWizard(): void {
    this.showSection('bundles');
    this._model.bundles.isWizardOpen = true;
  }

  private async _createBundle(
    request: ModelVault.IBundleCreateRequest
  ): Promise<ModelVault.IBundleViolation[] | null> {
    try {
      const created = await this._model.bundles.create(request);
      Notification.success(
        this._trans.__('Bundle %1 %2 created.', created.name, created.version),
        { autoClose: 3000 }
      );
      return null;
    } catch (error) {
      Private.reportError(this._trans, error);
      const violations = bundleViolations(error);
      if (violations) {
        return violations;
      }
      throw error;
    }
  }

  private async _bundleAction(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      Private.reportError(this._trans, error);
    }
  }

  private async _promoteBundle(): Promise<void> {
    try {
      const detail = await this._model.bundles.promote();
      Notification.success(
        this._trans.__(
          'Bundle %1 %2 promoted to %3.',
          detail.name,
          detail.version,
          detail.environment ?? ''
        ),
        { autoClose: 3000 }
      );
    } catch (error) {
      Private.reportError(this._trans, error);
    }
  }

  private async _downloadBundle(what: 'archive' | 'bom'): Promise<void> {
    try {
      const { blob, filename } = await this._model.bundles.download(what);
      // The download needs the Jupyter token (ServerConnection), which a plain
      // link cannot carry: save the fetched blob through an object URL.
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = filename;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) {
      Private.reportError(this._trans, error);
    }
  }

  /**
   * After a user-initiated load, report its failure (the server's message) as a notification.
   */
  private async _notifyFailure(
    done: Promise<void>,
    error: () => string | null
  ): Promise<void> {
    await done;
    const message = error();
    if (message) {
      Notification.error(this._trans.__('ModelVault: %1', message), {
        autoClose: 8000
      });
    }
  }

  private async _grant(request: ModelVault.IWaiverRequest): Promise<void> {
    try {
      await this._model.violations.grantWaiver(request);
      Notification.success(
        this._trans.__('Waiver granted for policy "%1".', request.policy),
        { autoClose: 3000 }
      );
    } catch (error) {
      Private.reportError(this._trans, error);
      throw error;
    }
  }

  private async _revoke(id: number): Promise<void> {
    try {
      await this._model.violations.revokeWaiver(id);
      Notification.info(this._trans.__('Waiver %1 revoked.', id), {
        autoClose: 3000
      });
    } catch (error) {
      Private.reportError(this._trans, error);
    }
  }

  /**
   * Rescan the selected file; errors become notifications.
   */
  rescan(): Promise<void> {
    return this._rescan();
  }

  private async _rescan(): Promise<void> {
    try {
      await this._model.browser.rescan();
    } catch (error) {
      Private.reportError(this._trans, error);
    }
  }

  private async _mint(
    scope: 'read' | 'write',
    seconds: number,
    repository: string
  ): Promise<void> {
    try {
      await this._model.setMeUp.mintToken(scope, seconds, repository);
    } catch (error) {
      Private.reportError(this._trans, error);
    }
  }

  private _copy(text: string, what: string): void {
    Clipboard.copyToSystem(text);
    Notification.info(this._trans.__('Copied %1', what), { autoClose: 3000 });
  }

  private _model: VaultModel;
}

/**
 * The static namespace for `VaultSidebar`.
 */
export namespace VaultSidebar {
  /**
   * Options to create a `VaultSidebar`.
   */
  export interface IOptions {
    /**
     * The model to show.
     */
    model: VaultModel;
    /**
     * The command registry, for toolbar buttons.
     */
    commands: CommandRegistry;
    /**
     * The application translator.
     */
    translator?: ITranslator;
  }
}

/**
 * Module internals.
 */
namespace Private {
  /**
   * The panel title shown in the header.
   */
  export function createTitle(label: string): Widget {
    const node = document.createElement('h2');
    node.textContent = label;
    const title = new Widget({ node });
    title.addClass('jp-ModelVault-Sidebar-title');
    return title;
  }

  /**
   * Report a failed action with the server's message.
   */
  export function reportError(trans: TranslationBundle, error: unknown): void {
    const message = trans.__('ModelVault: %1', describeError(error));
    console.error(message, error);
    Notification.error(message, { autoClose: 8000 });
  }
}
