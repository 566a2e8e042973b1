export { ImageLoader, type ImageLoaderOptions, type LoadedEvent, type RefusedArchive } from './image-loader.ts';
export { describeMissingImage, missingImages, type ImageMissingContext } from './missing-images.ts';
export { buildImageReport, type ImageReport } from './image-report.ts';
