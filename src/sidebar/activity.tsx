import { Notification } from '@jupyterlab/apputils';
import {
  PanelWithToolbar,
  ReactWidget,
  UseSignal
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { ActivityView } from '../components/ActivityView';
import { createSection, ISectionOptions } from './section';

/**
 * The Activity section: transfers and exports in progress. Its title counts
 * them, so a transfer is noticed while the section is collapsed; a failed
 * operation is also reported as a notification.
 */
export function createActivitySection(
  options: ISectionOptions
): PanelWithToolbar {
  const { model, trans } = options;
  const activity = model.activity;
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
  const section = createSection('activity', trans.__('Activity'), body);
  activity.changed.connect(() => {
    const count = activity.operations.length;
    section.title.label = count
      ? trans.__('Activity (%1)', count)
      : trans.__('Activity');
  }, section);
  activity.failed.connect((_, op) => {
    Notification.error(
      trans.__('ModelVault: %1 failed: %2', op.subject, op.message ?? ''),
      { autoClose: 8000 }
    );
  }, section);
  return section;
}
