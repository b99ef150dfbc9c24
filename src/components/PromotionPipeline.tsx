import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import type { ModelVault } from '../tokens';

/**
 * Where a bundle stands in one environment of its pipeline.
 */
export type StageState = 'done' | 'current' | 'next' | 'pending';

/**
 * One environment of the pipeline, with the signed record that brought the
 * bundle there (if it got there).
 */
export interface IStage {
  name: string;
  state: StageState;
  record: ModelVault.IBundlePromotion | null;
}

/**
 * The pipeline's stages in order: environments reached (the last one is
 * `current`), the `next` one, then the `pending` rest. An environment a
 * record names that the server no longer lists is kept, in record order.
 */
export function pipelineStages(
  environments: ReadonlyArray<string>,
  promotions: ReadonlyArray<ModelVault.IBundlePromotion>
): IStage[] {
  const names = [...environments];
  for (const p of promotions) {
    if (!names.includes(p.to)) {
      names.push(p.to);
    }
  }
  const records = new Map<string, ModelVault.IBundlePromotion>();
  for (const p of promotions) {
    records.set(p.to, p);
  }
  const last =
    promotions.length > 0 ? promotions[promotions.length - 1].to : null;
  const reached = last === null ? -1 : names.indexOf(last);
  return names.map((name, i) => ({
    name,
    record: records.get(name) ?? null,
    state:
      i < reached
        ? 'done'
        : i === reached
          ? 'current'
          : i === reached + 1
            ? 'next'
            : 'pending'
  }));
}

// Stages stack top to bottom: the bundle detail lives in a sidebar about
// 250 px wide, where three boxes side by side (458 px) overflowed. The box
// width fits that sidebar at full size; narrower, the picture scales down.
const BOX_W = 216;
const BOX_H = 60;
const GAP = 22;

/**
 * The promotion pipeline of a bundle as a picture: one box per environment
 * (DEV, then QA, then PROD, top to bottom), filled where the bundle was
 * promoted, with who signed the record and when, and the short hash chaining
 * it to the previous record.
 */
export function PromotionPipeline(props: {
  environments: ReadonlyArray<string>;
  promotions: ReadonlyArray<ModelVault.IBundlePromotion>;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { trans } = props;
  const stages = pipelineStages(props.environments, props.promotions);
  if (stages.length === 0) {
    return null;
  }
  const width = BOX_W + 2;
  const height = stages.length * BOX_H + (stages.length - 1) * GAP + 2;
  const summary = stages
    .map(s =>
      s.record
        ? trans.__('%1: promoted by %2', s.name, s.record.by)
        : s.state === 'next'
          ? trans.__('%1: next', s.name)
          : trans.__('%1: not yet', s.name)
    )
    .join('; ');
  return (
    <svg
      className="jp-ModelVault-Pipeline"
      role="img"
      aria-label={trans.__('Promotion pipeline. %1', summary)}
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
    >
      <title>{trans.__('Promotion pipeline')}</title>
      <defs>
        <marker
          id="jp-ModelVault-PipelineArrow"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="6"
          markerHeight="6"
          orient="auto"
        >
          <path
            d="M0,0 L10,5 L0,10 z"
            className="jp-ModelVault-PipelineArrowHead"
          />
        </marker>
      </defs>
      {stages.map((stage, i) => {
        const y = 1 + i * (BOX_H + GAP);
        const at = stage.record
          ? new Date(stage.record.at * 1000).toISOString().slice(0, 10)
          : '';
        return (
          <g
            key={stage.name}
            className={`jp-ModelVault-PipelineStage jp-mod-${stage.state}`}
            data-environment={stage.name}
            data-state={stage.state}
          >
            {i > 0 && (
              <line
                className="jp-ModelVault-PipelineEdge"
                x1={1 + BOX_W / 2}
                y1={y - GAP + 2}
                x2={1 + BOX_W / 2}
                y2={y - 3}
                markerEnd="url(#jp-ModelVault-PipelineArrow)"
              />
            )}
            <rect x={1} y={y} width={BOX_W} height={BOX_H} rx={6} />
            <text
              x={1 + BOX_W / 2}
              y={y + 19}
              className="jp-ModelVault-PipelineName"
            >
              {stage.name}
            </text>
            <text
              x={1 + BOX_W / 2}
              y={y + 36}
              className="jp-ModelVault-PipelineMeta"
            >
              {stage.record
                ? `✔ ${stage.record.by}`.slice(0, 28)
                : stage.state === 'next'
                  ? trans.__('next')
                  : trans.__('not yet')}
            </text>
            <text
              x={1 + BOX_W / 2}
              y={y + 52}
              className="jp-ModelVault-PipelineMeta"
            >
              {stage.record
                ? `${at} #${stage.record.seq}${stage.record.previous ? ` ← ${stage.record.previous.slice(0, 6)}` : ''}`
                : ''}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
