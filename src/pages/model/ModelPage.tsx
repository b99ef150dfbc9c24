import { MainAreaWidget, ReactWidget, UseSignal } from '@jupyterlab/apputils';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { vaultIcon } from '../../icons';
import { ModelPageModel } from './ModelPageModel';
import { IModelPageActions, ModelPageView } from './ModelPageView';

/**
 * The content of a model page: a React view of a `ModelPageModel`.
 */
export class ModelPageContent extends ReactWidget {
  constructor(options: ModelPage.IOptions) {
    super();
    this.model = options.model;
    this._options = options;
    this.addClass('jp-ModelVault-ModelPage');
  }

  readonly model: ModelPageModel;

  protected render(): JSX.Element {
    const { rendermime, actions, trans } = this._options;
    return (
      <UseSignal signal={this.model.changed}>
        {() => (
          <ModelPageView
            model={this.model}
            rendermime={rendermime}
            actions={actions}
            trans={trans}
          />
        )}
      </UseSignal>
    );
  }

  private _options: ModelPage.IOptions;
}

/**
 * A model page in the main area.
 */
export class ModelPage extends MainAreaWidget<ModelPageContent> {
  constructor(options: ModelPage.IOptions) {
    super({ content: new ModelPageContent(options) });
    const { args } = options.model;
    this.id = ModelPage.idOf(args);
    this.title.label = args.repoId;
    this.title.caption = `${args.repository}: ${args.repoType} ${args.repoId}`;
    this.title.icon = vaultIcon;
    this.title.closable = true;
  }
}

export namespace ModelPage {
  export interface IOptions {
    model: ModelPageModel;
    rendermime: IRenderMimeRegistry;
    actions: IModelPageActions;
    trans: TranslationBundle;
  }

  /**
   * A stable widget id per repo (also the restorer's name).
   */
  export function idOf(args: {
    repository: string;
    repoType: string;
    repoId: string;
  }): string {
    return `modelvault-page:${args.repository}:${args.repoType}:${args.repoId}`;
  }
}
