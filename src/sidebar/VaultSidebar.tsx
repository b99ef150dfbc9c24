import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import {
  CommandToolbarButton,
  ReactWidget,
  SidePanel,
  UseSignal
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import { AccordionPanel, Widget } from '@lumino/widgets';
import * as React from 'react';

import { ServerStatusBanner } from '../components/ServerStatusBanner';
import type { VaultModel } from '../models/VaultModel';
import { CommandIDs, ModelVault } from '../tokens';
import { createActivitySection } from './activity';
import { createBundlesSection } from './bundles';
import { createRepositoriesSection } from './repositories';
import { ISectionOptions, SectionId } from './section';
import { createSetMeUpSection } from './setMeUp';
import { createVerdictsSection } from './verdicts';
import { createViolationsSection } from './violations';

export type { SectionId } from './section';

/**
 * The sections of the sidebar, in order, with the function that builds each.
 */
const SECTIONS: ReadonlyArray<
  [SectionId, (options: ISectionOptions) => Widget]
> = [
  ['repositories', createRepositoriesSection],
  ['verdicts', createVerdictsSection],
  ['violations', createViolationsSection],
  ['set-me-up', createSetMeUpSection],
  ['bundles', createBundlesSection],
  ['activity', createActivitySection]
];

/**
 * The ModelVault left-sidebar panel.
 *
 * Header: title and server status banner; toolbar: refresh; content: one
 * accordion section per area of the vault (one module each in this folder):
 * Repositories (browse repositories, Hub repos and files), Verdicts (the
 * selected file's scan), Violations (blocks, flagged files, waivers, audit),
 * Set Me Up (client snippets and tokens), Bundles and Activity (transfers and
 * exports in progress). The sections' actions are commands (see
 * `actions/commands.ts`). The panel refreshes its model each time it is shown
 * and puts the polls on standby while hidden.
 */
export class VaultSidebar extends SidePanel {
  /**
   * Create the sidebar.
   */
  constructor(options: VaultSidebar.IOptions) {
    const translator = options.translator ?? nullTranslator;
    super({ translator });
    this._model = options.model;
    const trans = translator.load('modelvault_jlab');
    this.addClass('jp-ModelVault-Sidebar');

    this.header.addWidget(Private.createTitle(trans.__('ModelVault')));
    const model = this._model;
    // Read the model when rendering: the status may change before the panel is first shown.
    const banner = ReactWidget.create(
      <UseSignal signal={model.serverStatusChanged}>
        {() => <ServerStatusBanner status={model.serverStatus} trans={trans} />}
      </UseSignal>
    );
    banner.addClass('jp-ModelVault-StatusBanner');
    this.header.addWidget(banner);

    this.toolbar.addItem(
      'refresh',
      new CommandToolbarButton({
        commands: options.commands,
        id: CommandIDs.refresh,
        label: ''
      })
    );

    const sectionOptions = { model, commands: options.commands, trans };
    for (const [, create] of SECTIONS) {
      this.addWidget(create(sectionOptions));
    }
    // Repositories open; the others open on demand (selection, commands, a click).
    const accordion = this.content as AccordionPanel;
    for (let i = 1; i < SECTIONS.length; i++) {
      accordion.collapse(i);
    }
    accordion.expansionToggled.connect(this._onExpansionToggled, this);

    model.browser.fileSelected.connect(this._onFileSelected, this);
    model.refreshStandby = () => this.isHidden;
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
    const index = SECTIONS.findIndex(([section]) => section === id);
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
   * Show the Bundles section with the "Create bundle" wizard.
   */
  openBundleWizard(): void {
    this.showSection('bundles');
    this._model.bundles.isWizardOpen = true;
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
     * The command registry: the toolbar and the sections execute commands.
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
}
