import {
  PanelWithToolbar,
  ReactWidget,
  UseSignal
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { executeAction } from '../actions/commands';
import { ViolationsView } from '../components/ViolationsView';
import { CommandIDs } from '../tokens';
import { createSection, ISectionOptions } from './section';

/**
 * The Violations section: blocks, flagged files, policies, waivers and audit.
 */
export function createViolationsSection(
  options: ISectionOptions
): PanelWithToolbar {
  const { commands, model, trans } = options;
  const violations = model.violations;
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
          isAdmin={model.isAdmin}
          onGrant={async request => {
            await executeAction(commands, CommandIDs.grantWaiver, request);
          }}
          onRevoke={id =>
            void executeAction(commands, CommandIDs.revokeWaiver, { id })
          }
          onAudit={subject => void violations.loadAudit(subject)}
          trans={trans}
        />
      )}
    </UseSignal>
  );
  return createSection('violations', trans.__('Violations'), body);
}
