import {
  PanelWithToolbar,
  ReactWidget,
  UseSignal
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { executeAction } from '../actions/commands';
import { VerdictView } from '../components/VerdictView';
import { CommandIDs, ModelVault } from '../tokens';
import { createSection, ISectionOptions } from './section';

/**
 * The Verdicts section: the selected file's scan, its rescan and waivers.
 */
export function createVerdictsSection(
  options: ISectionOptions
): PanelWithToolbar {
  const { commands, model, trans } = options;
  const browser = model.browser;
  const body = ReactWidget.create(
    <UseSignal signal={browser.changed}>
      {() => (
        <VerdictView
          file={browser.file}
          scan={browser.scan}
          loading={browser.scanLoading}
          error={browser.scanError}
          isAdmin={model.isAdmin}
          onRescan={() => void commands.execute(CommandIDs.rescan)}
          onGrantWaiver={async (policy, justification, seconds) => {
            const request: ModelVault.IWaiverRequest = {
              policy,
              sha256: browser.file?.sha256,
              justification,
              expires_in_seconds: seconds
            };
            await executeAction(commands, CommandIDs.grantWaiver, request);
          }}
          trans={trans}
        />
      )}
    </UseSignal>
  );
  return createSection('verdicts', trans.__('Verdicts'), body);
}
