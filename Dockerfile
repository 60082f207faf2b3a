# One image for the three services; docker-compose.yml picks the entry point.
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build stage.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY schemas/package.json schemas/
COPY packages packages
COPY services services
COPY test/package.json test/
# No install scripts (the dev tools' are not needed), but the project's patches to its dependencies are:
# patches/ (kafkajs's idle-connection timer and its record encoding; docs/operations.md).
COPY patches patches
RUN npm ci --omit=dev --ignore-scripts && npx --yes patch-package@8.0.1 && npm cache clean --force
COPY schemas schemas
USER node
