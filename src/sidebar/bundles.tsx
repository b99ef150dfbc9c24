import {
  PanelWithToolbar,
  ReactWidget,
  UseSignal
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { executeAction } from '../actions/commands';
import { bundleViolations } from '../api/client';
import { BundleDetailView } from '../components/BundleDetailView';
import { BundleWizard } from '../components/BundleWizard';
import { BundlesView } from '../components/SetMeUpView';
import { CommandIDs, ModelVault } from '../tokens';
import { createSection, ISectionOptions } from './section';

/**
 * The Bundles section: the bundle list, the "Create bundle" wizard and the
 * detail of a bundle (verify, promote, export).
 */
export function createBundlesSection(
  options: ISectionOptions
): PanelWithToolbar {
  const { commands, model, trans } = options;
  const { bundles, repositories, setMeUp } = model;
  const create = async (
    request: ModelVault.IBundleCreateRequest
  ): Promise<ModelVault.IBundleViolation[] | null> => {
    try {
      await executeAction(commands, CommandIDs.submitBundle, request);
      return null;
    } catch (error) {
      // Reported by the command; a refusal's violations go to the wizard.
      const violations = bundleViolations(error);
      if (violations) {
        return violations;
      }
      throw error;
    }
  };
  const render = (): JSX.Element => {
    if (bundles.isWizardOpen) {
      return (
        <BundleWizard
          repositories={repositories.items}
          source={bundles}
          onCreate={create}
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
          isAdmin={model.isAdmin}
          nextEnvironment={bundles.nextEnvironment}
          environments={bundles.environments}
          onBack={() => bundles.close()}
          onVerify={() => void commands.execute(CommandIDs.verifyBundle)}
          onPromote={() => void commands.execute(CommandIDs.promoteBundle)}
          onDownload={what =>
            void commands.execute(CommandIDs.downloadBundle, { what })
          }
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
          {() => <UseSignal signal={repositories.changed}>{render}</UseSignal>}
        </UseSignal>
      )}
    </UseSignal>
  );
  return createSection('bundles', trans.__('Bundles'), body);
}
