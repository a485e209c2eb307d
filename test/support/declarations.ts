/** Bodies of `POST /incidents`, as customer support would send them. */

/** A customer writes in: charged twice for one order. */
export const complaint = {
  title: 'Customer charged twice for one order',
  description:
    'The customer sees two identical card charges for order 88213 on 20 Nov and asks for one back.\nDetails in the ticket.',
  category: 'financial_discrepancy',
  csTicketId: 'CS-4521',
  reporter: 'ana@corp.example',
} as const;
