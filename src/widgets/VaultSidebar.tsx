import { Clipboard, Notification } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import {
  CommandToolbarButton,
  PanelWithToolbar,
  ReactWidget,
  SidePanel,
  UseSignal
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { RepositoryList } from '../components/RepositoryList';
import { ServerStatusBanner } from '../components/ServerStatusBanner';
import type { VaultModel } from '../models/VaultModel';
import { CommandIDs } from '../tokens';

/**
 * The ModelVault left-sidebar panel.
 *
 * Header: title and server status banner; toolbar: refresh; content: one
 * accordion section per area of the vault ("Repositories" for now).
 * The panel refreshes its model each time it is shown and puts the
 * repository poll on standby while hidden.
 */
export class VaultSidebar extends SidePanel {
  /**
   * Create the sidebar.
   */
  constructor(options: VaultSidebar.IOptions) {
    const translator = options.translator ?? nullTranslator;
    super({ translator });
    this._model = options.model;
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

    this._model.refreshStandby = () => this.isHidden;
  }

  /**
   * The model shown by the sidebar.
   */
  get model(): VaultModel {
    return this._model;
  }

  /**
   * Refresh when the panel is about to be shown.
   */
  protected onBeforeShow(msg: Message): void {
    super.onBeforeShow(msg);
    void this._model.refresh();
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

  private _createRepositoriesSection(): PanelWithToolbar {
    const repositories = this._model.repositories;
    const section = new PanelWithToolbar();
    section.id = 'modelvault-repositories';
    section.title.label = this._trans.__('Repositories');
    section.addClass('jp-ModelVault-Section');

    const body = ReactWidget.create(
      <UseSignal signal={repositories.changed}>
        {() => (
          <RepositoryList
            repositories={repositories.items}
            isLoaded={repositories.isLoaded}
            isLoading={repositories.isLoading}
            error={repositories.error}
            onCopyUrl={this._copyUrl}
            trans={this._trans}
          />
        )}
      </UseSignal>
    );
    body.addClass('jp-ModelVault-SectionBody');
    section.addWidget(body);
    return section;
  }

  private _copyUrl = (url: string): void => {
    Clipboard.copyToSystem(url);
    Notification.info(this._trans.__('Copied %1', url), { autoClose: 3000 });
  };

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
}
