import {
  PanelWithToolbar,
  ReactWidget,
  UseSignal
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { executeAction } from '../actions/commands';
import { FileList, HubRepoList } from '../components/RepositoryBrowser';
import { RepositoryList } from '../components/RepositoryList';
import { mark } from '../models/polling';
import { ModelPageCommandIDs } from '../pages/model/commands';
import { CommandIDs } from '../tokens';
import { createSection, ISectionOptions } from './section';

/**
 * The Repositories section: the vault's repositories, then the Hub repos of
 * the open one, then the files of the open Hub repo.
 */
export function createRepositoriesSection(
  options: ISectionOptions
): PanelWithToolbar {
  const { commands, model, trans } = options;
  const { browser, repositories } = model;
  const run = (id: string, args?: object) =>
    void executeAction(commands, id, args);
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
              void commands.execute(ModelPageCommandIDs.open, {
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
              run(CommandIDs.openHubRepo, {
                repository: key,
                repoType: repo.repoType,
                repoId: repo.repoId,
                revision
              })
            }
            onLoadMore={() => run(CommandIDs.loadMoreFiles)}
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
          onLoadMore={() => run(CommandIDs.loadMoreHubRepos)}
          onOpen={(repoType, repoId) =>
            run(CommandIDs.openHubRepo, { repository: key, repoType, repoId })
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
        onCopyUrl={url => run(CommandIDs.copy, { text: url, what: url })}
        onOpen={repository => run(CommandIDs.openRepository, { repository })}
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
  return createSection('repositories', trans.__('Repositories'), body);
}
