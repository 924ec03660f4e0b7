/**
 * Pictures: Graphviz (compiled to WebAssembly, @viz-js/viz) lays out DOT into SVG; resvg (@resvg/resvg-js)
 * rasterizes SVG to PNG. Both are loaded only when a picture is asked for.
 */
export async function dotToSvg(dot: string): Promise<string> {
  const viz = await (require('@viz-js/viz') as typeof import('@viz-js/viz')).instance();
  return viz.renderString(dot, { format: 'svg', engine: 'dot' });
}

export interface Png {
  data: Buffer;
  width: number;
  height: number;
}

/** `width` in pixels (the height follows the picture's aspect ratio); default: the SVG's own size at 96 dpi. */
export function svgToPng(svg: string, width?: number): Png {
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const r = new Resvg(svg, {
    background: 'white',
    ...(width ? { fitTo: { mode: 'width' as const, value: width } } : {}),
    font: { loadSystemFonts: true },
  });
  const img = r.render();
  return { data: img.asPng(), width: img.width, height: img.height };
}
