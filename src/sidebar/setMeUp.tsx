import {
  PanelWithToolbar,
  ReactWidget,
  UseSignal
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { executeAction } from '../actions/commands';
import { SetMeUpView } from '../components/SetMeUpView';
import { INSERT_SNIPPET } from '../notebook/insert';
import { CommandIDs } from '../tokens';
import { createSection, ISectionOptions } from './section';

/**
 * The Set Me Up section: client snippets for a repository and its tokens.
 */
export function createSetMeUpSection(
  options: ISectionOptions
): PanelWithToolbar {
  const { commands, model, trans } = options;
  const { repositories, setMeUp } = model;
  const body = ReactWidget.create(
    <UseSignal signal={commands.commandChanged}>
      {() => (
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
                  isAdmin={model.isAdmin}
                  onMint={(scope, expiresInSeconds, repository) =>
                    void executeAction(commands, CommandIDs.mintToken, {
                      scope,
                      expiresInSeconds,
                      repository
                    })
                  }
                  onForgetToken={() => setMeUp.clearToken()}
                  onCopy={(text, what) =>
                    void executeAction(commands, CommandIDs.copy, {
                      text,
                      what
                    })
                  }
                  onInsert={code =>
                    void executeAction(commands, INSERT_SNIPPET, { code })
                  }
                  canInsert={
                    commands.hasCommand(INSERT_SNIPPET) &&
                    commands.isEnabled(INSERT_SNIPPET, { code: '' })
                  }
                  trans={trans}
                />
              )}
            </UseSignal>
          )}
        </UseSignal>
      )}
    </UseSignal>
  );
  return createSection('set-me-up', trans.__('Set Me Up'), body);
}
