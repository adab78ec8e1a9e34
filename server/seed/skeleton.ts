// Temporary alias while the objects seeder is written against it; removed at integration.
export { seedGeography as seedSkeleton } from './geography.ts'
