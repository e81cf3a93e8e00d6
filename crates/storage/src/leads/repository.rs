/// The leads of `organization` that `visibility` allows and `filter` selects.
fn visible(
    organization: OrganizationId,
    filter: &LeadFilter,
    visibility: &Visibility,
) -> Select<lead::Entity> {
    use lead::Column as C;
    let mut query = lead::Entity::find().filter(C::OrganizationId.eq(organization.as_uuid()));
    if let Visibility::AssignedTo(users) = visibility {
        query = query.filter(C::AssigneeId.is_in(users.iter().map(|u| u.as_uuid())));
    }
    if let Some(status) = filter.status {
        query = query.filter(C::Status.eq(status.as_str()));
    }
    if let Some(category) = filter.qualification {
        query = query.filter(C::QualificationCategory.eq(category.as_str()));
    }
    if let Some(assignee) = filter.assignee_id {
        query = query.filter(C::AssigneeId.eq(assignee.as_uuid()));
    }
    if let Some(users) = &filter.assignees_in {
        query = query.filter(C::AssigneeId.is_in(users.iter().map(|u| u.as_uuid())));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(C::CreatedAt.gte(from));
    }
    if let Some(to) = filter.created_to {
        query = query.filter(C::CreatedAt.lt(to));
    }
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let escaped = search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        let pattern = format!("%{escaped}%");
        let like = |col: C| {
            Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        query = query.filter(Condition::any().add(like(C::Email)).add(like(C::Name)).add(like(C::Company)));
    }
    query
}

async fn count_by<Col: ColumnTrait>(
    db: &DatabaseConnection,
    query: Select<lead::Entity>,
    column: Col,
) -> anyhow::Result<std::collections::BTreeMap<String, u64>> {
    let rows: Vec<(Option<String>, i64)> = query
        .select_only()
        .column(column)
        .column_as(lead::Column::Id.count(), "count")
        .group_by(column)
        .into_tuple()
        .all(db)
        .await
        .map_err(|e| unexpected(e, "counting leads"))?;
    Ok(rows
        .into_iter()
        .map(|(k, n)| (k.unwrap_or_else(|| "none".into()), u64::try_from(n).unwrap_or(0)))
        .collect())
}

#[async_trait]
impl LeadRepository for SeaOrmLeads {
    async fn get(
        &self,
        org: OrganizationId,
        id: LeadId,
        visibility: &Visibility,
    ) -> anyhow::Result<Option<Lead>> {
        let row = visible(org, &LeadFilter::default(), visibility)
            .filter(lead::Column::Id.eq(id.as_uuid()))
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading lead"))?;
        row.map(to_domain).transpose()
    }

    async fn page(
        &self,
        org: OrganizationId,
        filter: &LeadFilter,
        visibility: &Visibility,
        page: KeysetPage,
    ) -> anyhow::Result<KeysetPaged<Lead>> {
        use lead::Column as C;
        let query = visible(org, filter, visibility);
        let (rows, next) = crate::keyset_page(&self.db, query, (C::CreatedAt, C::Id), page, |r| Cursor {
            at: r.created_at,
            id: r.id,
        })
        .await
        .map_err(|e| unexpected(e, "listing leads"))?;
        Ok(KeysetPaged { items: rows.into_iter().map(to_domain).collect::<anyhow::Result<_>>()?, next })
    }

    async fn update(&self, l: &Lead, audit: &AuditEntry) -> anyhow::Result<()> {
        let mut row = to_row(l);
        row.id = sea_orm::ActiveValue::Unchanged(l.id.as_uuid());
        row.organization_id = sea_orm::ActiveValue::Unchanged(l.organization_id.as_uuid());
        row.created_at = sea_orm::ActiveValue::NotSet;
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        // The primary key is the lead id; the repository only hands out leads of
        // the caller's organization, and `lead.organization_id` never changes.
        sea_orm::ActiveModelTrait::update(row, &txn).await.map_err(|e| unexpected(e, "updating lead"))?;
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing lead"))?;
        Ok(())
    }

    async fn delete(&self, org: OrganizationId, id: LeadId, audit: &AuditEntry) -> anyhow::Result<()> {
        let txn = begin_write(&self.db).await.map_err(|e| unexpected(e, "beginning transaction"))?;
        lead::Entity::delete_many()
            .filter(lead::Column::OrganizationId.eq(org.as_uuid()))
            .filter(lead::Column::Id.eq(id.as_uuid()))
            .exec(&txn)
            .await
            .map_err(|e| unexpected(e, "deleting lead"))?;
        insert_audit(&txn, audit).await.map_err(|e| unexpected(e, "writing audit entry"))?;
        txn.commit().await.map_err(|e| unexpected(e, "committing lead deletion"))?;
        Ok(())
    }

    async fn workflow_of(&self, org: OrganizationId, id: LeadId) -> anyhow::Result<Option<Uuid>> {
        let found: Option<Uuid> = crate::entities::workflow::Entity::find()
            .select_only()
            .column(crate::entities::workflow::Column::Id)
            .filter(crate::entities::workflow::Column::OrganizationId.eq(org.as_uuid()))
            .filter(crate::entities::workflow::Column::LeadId.eq(id.as_uuid()))
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(|e| unexpected(e, "reading the lead's workflow"))?;
        Ok(found)
    }

    async fn stats(&self, org: OrganizationId, visibility: &Visibility) -> anyhow::Result<LeadStats> {
        let all = LeadFilter::default();
        let by_status = count_by(&self.db, visible(org, &all, visibility), lead::Column::Status).await?;
        let by_qualification =
            count_by(&self.db, visible(org, &all, visibility), lead::Column::QualificationCategory).await?;
        Ok(LeadStats { total: by_status.values().sum(), by_status, by_qualification })
    }
}
