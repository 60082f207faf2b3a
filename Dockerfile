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
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY schemas schemas
USER node
