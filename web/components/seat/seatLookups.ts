/**
 * Lookups the seat's cards share, loaded once per page: category names (the Open311 service list)
 * and the workflow table (action labels and what each needs). Reactive, so a card shows the code
 * first and the name as soon as it arrives.
 */
import { reactive, ref } from 'vue'
import { fetchCategories, fetchWorkflow, type Workflow } from '../../services/cases.ts'

const categories = reactive(new Map<string, string>())
const workflow = ref<Workflow | null>(null)
let categoriesLoading: Promise<void> | null = null
let workflowLoading: Promise<void> | null = null

function loadCategories(): void {
  categoriesLoading ??= fetchCategories()
    .then((list) => {
      for (const c of list) categories.set(c.code, c.name)
    })
    .catch((error: unknown) => {
      categoriesLoading = null
      console.warn('[onegrid] could not load the case categories', error)
    })
}

function loadWorkflow(): void {
  workflowLoading ??= fetchWorkflow()
    .then((w) => {
      workflow.value = w
    })
    .catch((error: unknown) => {
      workflowLoading = null
      console.warn('[onegrid] could not load the workflow table', error)
    })
}

/** The category's name (its code until the list has loaded, or when it is not in it). */
export function categoryName(code: string | null | undefined): string {
  if (!code) return '—'
  loadCategories()
  return categories.get(code) ?? code
}

/** All categories, code and name, for the queue's filter. */
export function categoryList(): { code: string; name: string }[] {
  loadCategories()
  return [...categories].map(([code, name]) => ({ code, name })).sort((a, b) => a.code.localeCompare(b.code))
}

/** The workflow table (null until loaded). */
export function useWorkflow(): typeof workflow {
  loadWorkflow()
  return workflow
}
